import type { FetchNode, PlanNode, QueryPlan } from '@apollo/query-planner';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { print } from 'graphql';
import { projectRoot } from '../common/config/paths';
import { SupergraphPlanner } from '../gateway/subscriptions/planner';
import { EditMessageDocument, SendMessageDocument } from '../clients/generated/graphql';

/** What the gateway asks of which subgraph for the operations every chat turn sends. */

function fetchesOf(node: PlanNode | undefined): FetchNode[] {
  if (!node) return [];
  if (node.kind === 'Fetch') return [node];
  if ('nodes' in node) return node.nodes.flatMap(fetchesOf);
  if (node.kind === 'Flatten') return fetchesOf(node.node);
  return [];
}

describe('query plans of a chat turn', () => {
  let planner: SupergraphPlanner;
  beforeAll(async () => {
    planner = new SupergraphPlanner(await readFile(join(projectRoot(), 'schema/supergraph.graphql'), 'utf8'));
  });
  const plan = (document: typeof SendMessageDocument | typeof EditMessageDocument): QueryPlan =>
    planner.plan(document, undefined, print(document));

  it.each([
    ['sendMessage', SendMessageDocument],
    ['editMessage', EditMessageDocument],
  ] as const)(
    '%s is answered by chat alone: it provides the title and content conversation just gave it',
    (_, document) => {
      const fetches = fetchesOf(plan(document).node as PlanNode | undefined);
      expect(fetches.map((fetch) => fetch.serviceName)).toEqual(['chat']);
      expect(fetches[0].operation).toMatch(/title/);
      expect(fetches[0].operation).toMatch(/content/);
    },
  );
});
