/**
 * The docs' links within the repository lead somewhere: every relative link in a tracked Markdown file names a file
 * that exists, and its `#fragment` (or a link to `#fragment` in the same file) a heading of that file, by the slugs
 * GitHub gives headings, or an explicit `<a id>` / `<a name>`. A heading renamed (the performance notes' dated ones
 * are) breaks the links to it without this.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Markdown without fenced code blocks and code spans, where `](` is text, not a link. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/(`+)[^`\n]*?\1/g, '');
}

/**
 * GitHub's anchor for a heading's text (github-slugger): inline links reduced to their text, lower case, every
 * character that is not a letter, a mark, a digit, `_`, `-` or a space dropped, and each space a hyphen.
 */
function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown file has: its headings' slugs (a repeated one gets -1, -2, …) and its explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = slugOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

/** The relative links of a Markdown file: `[text](target)`, with the target's path and fragment apart. */
function linksOf(markdown: string): { path: string; fragment: string | undefined }[] {
  const links: { path: string; fragment: string | undefined }[] = [];
  for (const m of withoutCode(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const at = target.indexOf('#');
    links.push(at < 0 ? { path: target, fragment: undefined } : { path: target.slice(0, at), fragment: decodeURIComponent(target.slice(at + 1)) });
  }
  return links;
}

test('slugs as GitHub makes them', () => {
  expect(slugOf('The split, nineteenth look (2026-12-06, from 09:26 UTC): a fair probe, and the session reads batched')).toBe(
    'the-split-nineteenth-look-2026-12-06-from-0926-utc-a-fair-probe-and-the-session-reads-batched',
  );
  expect(slugOf('The checks (WebAuthn Level 3, §7.2) as they apply')).toBe('the-checks-webauthn-level-3-72-as-they-apply');
  expect(slugOf('4. Run')).toBe('4-run');
  expect(slugOf("The host's wallet cache")).toBe('the-hosts-wallet-cache');
  expect(slugOf('`ENCLAVE_CPUS` and [the split](performance.md)')).toBe('enclave_cpus-and-the-split');
  expect([...anchorsOf('# A\n\n## A\n\n```\n# not a heading\n```\n<a id="x"></a>\n')]).toEqual(['a', 'a-1', 'x']);
  expect(linksOf('[a](b.md#c) `[d](e.md)` [f](https://g) [h](#i)')).toEqual([
    { path: 'b.md', fragment: 'c' },
    { path: '', fragment: 'i' },
  ]);
});

test('every relative link in the docs names a file that exists and, with a fragment, one of its headings', () => {
  const files = execFileSync('git', ['ls-files', '*.md'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(files.length).toBeGreaterThan(15);
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    let found = anchors.get(file);
    if (!found) anchors.set(file, (found = anchorsOf(readFileSync(join(repo, file), 'utf8'))));
    return found;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { path, fragment } of linksOf(readFileSync(join(repo, file), 'utf8'))) {
      const target = path === '' ? file : normalize(join(dirname(file), path));
      checked++;
      if (target.startsWith('..') || !existsSync(join(repo, target))) {
        broken.push(`${file}: ${path}${fragment === undefined ? '' : `#${fragment}`} (no such file)`);
      } else if (fragment !== undefined && (statSync(join(repo, target)).isDirectory() || !target.endsWith('.md') || !anchorsIn(target).has(fragment))) {
        broken.push(`${file}: ${path}#${fragment} (no such heading in ${target})`);
      }
    }
  }
  expect(checked).toBeGreaterThan(100);
  expect(broken).toEqual([]);
});
