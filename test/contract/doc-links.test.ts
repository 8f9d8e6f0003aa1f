/**
 * The docs' links within the repository lead somewhere: every relative link in a tracked Markdown file names a
 * tracked file (or a folder of them), and its `#fragment` (or a link to `#fragment` in the same file) a heading of
 * that file, by the slugs GitHub gives headings, or an explicit `<a id>` / `<a name>`. A heading renamed (the
 * performance notes' dated ones are) breaks the links to it without this.
 *
 * The Markdown is read by the rules of CommonMark that the repository's files use: fenced code blocks (by their
 * fence's character and length), code spans that may wrap onto the next line but not across a blank one, inline
 * links with or without a title or angle brackets, reference definitions, ATX and setext headings. Indented code
 * blocks are not told apart from indented list text, and are read as text.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Markdown without its fenced code blocks: a fence closes only on the same character, at least as many times. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^ {0,3}(([`~])\2{2,})[^\n]*\n[\s\S]*?(?:^ {0,3}\1\2*[ \t]*$|(?![\s\S]))/gm, '');
}

/** Text without its code spans: a run of n backticks up to the next run of exactly n, not across a blank line. */
function withoutSpans(text: string): string {
  let out = '';
  let i = 0;
  const blankLine = /\n[ \t]*(?:\n|$)/y;
  while (i < text.length) {
    if (text[i] !== '`') {
      out += text[i++];
      continue;
    }
    let n = 0;
    while (text[i + n] === '`') n++;
    let close = -1;
    for (let j = i + n; j < text.length;) {
      blankLine.lastIndex = j;
      if (text[j] === '\n' && blankLine.test(text)) break;
      if (text[j] !== '`') {
        j++;
        continue;
      }
      let m = 0;
      while (text[j + m] === '`') m++;
      if (m === n) {
        close = j;
        break;
      }
      j += m;
    }
    if (close < 0) {
      out += text.slice(i, i + n); // no closing run: the backticks are text
      i += n;
    } else i = close + n;
  }
  return out;
}

const withoutCode = (markdown: string): string => withoutSpans(withoutFences(markdown));

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) =>
    name[0] === '#'
      ? String.fromCodePoint(name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1)))
      : (ENTITIES[name.toLowerCase()] ?? whole),
  );

/**
 * GitHub's anchor for a heading's text (github-slugger, on the text as rendered): inline links reduced to their text,
 * tags dropped, entities decoded, lower case, every character that is not a letter, a mark, a decimal digit, `_`,
 * `-` or a space dropped, and each space a hyphen.
 */
function slugOf(heading: string): string {
  return decodeEntities(heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, ''))
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{Nd}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown file has: its headings' slugs (numbered as github-slugger numbers repeats) and its ids. */
function anchorsOf(markdown: string): Set<string> {
  const text = withoutFences(markdown);
  const headings: { at: number; text: string }[] = [];
  for (const m of text.matchAll(/^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/gm)) headings.push({ at: m.index, text: m[1] ?? '' });
  // Setext: a line of text underlined with = or - (a table's or a list's lines are not text of a paragraph here).
  for (const m of text.matchAll(/^ {0,3}([^\s|>#*+-].*)\n {0,3}(?:=+|-+)[ \t]*$/gm)) headings.push({ at: m.index, text: m[1]!.trim() });
  headings.sort((a, b) => a.at - b.at);
  const occurrences = new Map<string, number>();
  const anchors = new Set<string>();
  for (const h of headings) {
    const base = slugOf(h.text);
    let slug = base;
    while (occurrences.has(slug)) {
      const n = occurrences.get(base)! + 1;
      occurrences.set(base, n);
      slug = `${base}-${n}`;
    }
    occurrences.set(slug, 0);
    anchors.add(slug);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

/** A link's percent-encoding decoded (GitHub does), or the text as it is where it is not valid. */
function decodeUri(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The relative links of a Markdown file (inline links and images, reference definitions), path and fragment apart. */
function linksOf(markdown: string): { path: string; fragment: string | undefined }[] {
  const text = withoutCode(markdown);
  const targets: string[] = [];
  const inline = /\]\(\s*(<[^>\n]*>|(?:[^\s()\\]|\\.|\([^\s()]*\))+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
  for (const m of text.matchAll(inline)) targets.push(m[1]!);
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm)) targets.push(m[1]!);
  const links: { path: string; fragment: string | undefined }[] = [];
  for (const raw of targets) {
    const target = raw.startsWith('<') ? raw.slice(1, -1) : raw;
    if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(target)) continue; // http:, https:, mailto:, //host
    const at = target.indexOf('#');
    const path = at < 0 ? target : target.slice(0, at);
    links.push({ path: decodeUri(path), fragment: at < 0 ? undefined : decodeUri(target.slice(at + 1)) });
  }
  return links;
}

test('the reader: slugs as GitHub makes them, code that is not links, the link forms', () => {
  expect(slugOf('The split, nineteenth look (2026-12-06, from 09:26 UTC): a fair probe, and the session reads batched')).toBe(
    'the-split-nineteenth-look-2026-12-06-from-0926-utc-a-fair-probe-and-the-session-reads-batched',
  );
  expect(slugOf('The checks (WebAuthn Level 3, §7.2) as they apply')).toBe('the-checks-webauthn-level-3-72-as-they-apply');
  expect(slugOf('4. Run')).toBe('4-run');
  expect(slugOf("The host's wallet cache")).toBe('the-hosts-wallet-cache');
  expect(slugOf('`ENCLAVE_CPUS` and [the split](performance.md)')).toBe('enclave_cpus-and-the-split');
  expect(slugOf('Costs ² and ½')).toBe('costs--and-');
  expect(slugOf('A &amp; B')).toBe('a--b');
  expect([...anchorsOf('# A\n\n## A-1\n\n## A\n\n```\n# not a heading\n```\n<a id="x"></a>\n')]).toEqual(['a', 'a-1', 'a-2', 'x']);
  expect([...anchorsOf('````\n```\n# inside\n````\n\nTitle\n=====\n\n## C# ##\n')]).toEqual(['title', 'c']);
  expect(linksOf('[a](b.md#c) `[d](e.md)` [f](https://g) [h](#i)')).toEqual([
    { path: 'b.md', fragment: 'c' },
    { path: '', fragment: 'i' },
  ]);
  // A code span that wraps onto the next line hides only itself; one never closed hides nothing.
  expect(linksOf('see `npm\nrun bench` and [p](p.md#x) and `y`')).toEqual([{ path: 'p.md', fragment: 'x' }]);
  expect(linksOf('a ` b [q](q.md)\n\nc `')).toEqual([{ path: 'q.md', fragment: undefined }]);
  expect(linksOf("[t](a.md 'T') [u](<my file.md#x>) [v](a_(b).md)\n[r]: r.md#s\n")).toEqual([
    { path: 'a.md', fragment: undefined },
    { path: 'my file.md', fragment: 'x' },
    { path: 'a_(b).md', fragment: undefined },
    { path: 'r.md', fragment: 's' },
  ]);
});

test('every relative link in the docs names a tracked file and, with a fragment, one of its headings', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
  const tracked = new Set(files);
  const folders = new Set(
    files.flatMap((f) =>
      f
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  );
  const markdown = files.filter((f) => /\.md$/i.test(f));
  expect(markdown.length).toBeGreaterThan(15);
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    let found = anchors.get(file);
    if (!found) anchors.set(file, (found = anchorsOf(readFileSync(join(repo, file), 'utf8'))));
    return found;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const file of markdown) {
    for (const { path, fragment } of linksOf(readFileSync(join(repo, file), 'utf8'))) {
      // GitHub reads a leading / from the repository's root, and a trailing / as the folder.
      const target = path === '' ? file : normalize(path.startsWith('/') ? path.slice(1) : join(dirname(file), path)).replace(/\/$/, '');
      const shown = `${file}: ${path}${fragment === undefined ? '' : `#${fragment}`}`;
      checked++;
      if (!tracked.has(target) && !folders.has(target)) broken.push(`${shown} (no such tracked file)`);
      else if (fragment === undefined) continue;
      else if (/\.md$/i.test(target)) {
        if (!anchorsIn(target).has(fragment)) broken.push(`${shown} (no such heading in ${target})`);
      } else if (folders.has(target) || !/^L\d+(-L\d+)?$/.test(fragment)) broken.push(`${shown} (a fragment GitHub does not give ${target})`);
    }
  }
  expect(checked).toBeGreaterThan(100);
  expect(broken).toEqual([]);
});
