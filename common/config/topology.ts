/** The subgraphs of the supergraph, with the routing URL each has when run locally. */
export const SUBGRAPHS = [
  { name: 'auth', defaultUrl: 'http://localhost:4001/graphql', urlVariable: 'AUTH_URL' },
  { name: 'conversation', defaultUrl: 'http://localhost:4002/graphql', urlVariable: 'CONVERSATION_URL' },
  { name: 'chat', defaultUrl: 'http://localhost:4003/graphql', urlVariable: 'CHAT_URL' },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];
