/** docs/protocol.md lists exactly what the schema holds (regenerate with `npm run proto:doc`). */
import { readFileSync } from 'node:fs';
// @ts-expect-error -- plain ESM helper without type declarations
import { DOC_FILE, renderDoc } from '../../proto/scripts/protocol-doc.mjs';

test('the reference in docs/protocol.md is current', () => {
  const committed = readFileSync(DOC_FILE, 'utf8');
  expect(renderDoc(committed) === committed).toBe(true);
});
