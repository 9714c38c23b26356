import { GraphQLError } from 'graphql';
import { parseStreamingRequest } from './operation-router';

describe('parsing a streaming request', () => {
  const query = 'subscription Follow($id: ID!) { generation(id: $id) { seq type delta } }';

  it('parses a document once, and hands every later request with the same text the same document', () => {
    const first = parseStreamingRequest({ query, variables: { id: 'a' } }, 1000);
    const second = parseStreamingRequest({ query, variables: { id: 'b' } }, 1000);

    expect('document' in first && 'document' in second).toBe(true);
    if (!('document' in first) || !('document' in second)) return;
    expect(second.document).toBe(first.document);
    // The request's own parts stay its own.
    expect(second.variables).toEqual({ id: 'b' });
  });

  it('still refuses a document over the token bound, though the same text parsed under a higher bound', () => {
    expect('document' in (parseStreamingRequest({ query }, 1000) as object)).toBe(true);

    const refused = parseStreamingRequest({ query }, 5);

    expect(Array.isArray(refused)).toBe(true);
    expect((refused as GraphQLError[])[0].message).toBe('The document has more than 5 tokens');
  });

  it('answers a document that does not parse with GRAPHQL_PARSE_FAILED every time', () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = parseStreamingRequest({ query: 'subscription {' }, 1000) as GraphQLError[];
      expect(refused[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    }
  });
});
