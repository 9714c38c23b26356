import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { accessRulesOf } from '../common/identity/access-rules';
import { scopeOf } from '../common/identity/authorization';

export const AUTHORIZATION_DOC = join(projectRoot(), 'docs', 'authorization.md');

const HEADER = `# Who may select what

<!-- Written by \`npm run docs:authorization\` (and \`npm run compose\`) from schema/supergraph.graphql; do not edit. -->

Every \`@authenticated\` and \`@requiresScopes\` of the composed supergraph, as the gateway enforces them before
planning and each subgraph enforces them again ([gateway.md](gateway.md#authorization-at-the-edge)). A directive
on a type applies to every field of it. Fields not listed are open to anyone.
`;

/** A Markdown table with its columns padded, as Prettier writes one (so that `npm run lint` passes the page). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** The page: one row per type or field with a requirement, in the supergraph's order. */
export function authorizationDoc(supergraphSdl: string): string {
  const rows = [...accessRulesOf(supergraphSdl)].map(([coordinate, { role }]) => [
    `\`${coordinate}\``,
    role ? `a caller with \`${scopeOf(role)}\` (role ${role} or higher)` : 'any signed-in caller',
  ]);
  return `${HEADER}\n${table(['type or field', 'who may select it'], rows)}\n`;
}

export async function writeAuthorizationDoc(supergraphSdl: string): Promise<void> {
  await writeFile(AUTHORIZATION_DOC, authorizationDoc(supergraphSdl));
}
