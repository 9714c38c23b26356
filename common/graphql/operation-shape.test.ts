import { buildSchema, getOperationAST, parse } from 'graphql';
import { listSizesOf } from './list-size';
import { countTokens, fragmentsOf, measureOperation } from './operation-shape';

const sdl = `
  type Query {
    me: User!
    users(first: Int! = 20): [User!]! @listSize(slicingArguments: ["first"])
    page(first: Int, last: Int): UserPage! @listSize(slicingArguments: ["first", "last"], assumedSize: 50, sizedFields: ["items"])
    entities(representations: [String!]!): [User]! @listSize(slicingArguments: ["representations"])
    unsized: [User!]!
  }
  type Mutation { sendMessage(text: String!): Boolean!, login: Boolean! }
  type User {
    id: ID!
    name: String
    friends(first: Int, last: Int): [User!]! @listSize(slicingArguments: ["first", "last"])
    best: User
    versions: [User!]! @listSize(assumedSize: 5)
  }
  type UserPage { items: [User!]!, total: Int! }
`;
const schema = buildSchema(sdl, { assumeValidSDL: true });
const listSizes = listSizesOf(sdl);

const measure = (query: string, variables: Record<string, unknown> = {}, listSizeCap = 100) => {
  const document = parse(query);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return measureOperation(schema, fragmentsOf(document), operation, variables, { listSizes, listSizeCap });
};

describe('measureOperation', () => {
  it('counts depth from 1 at the root, through fragments and inline fragments', () => {
    expect(measure('{ me { id } }').depth).toBe(2);
    expect(measure('{ me { ...F } } fragment F on User { best { ... on User { best { id } } } }').depth).toBe(
      4,
    );
  });

  it('counts aliases wherever they are, once per place a fragment is spread', () => {
    expect(measure('{ a: me { b: id } c: me { id } }').aliases).toBe(3);
    expect(measure('{ me { ...F } other: me { ...F } } fragment F on User { x: id }').aliases).toBe(3);
  });

  it('counts root fields by name, aliases and fragments included', () => {
    const shape = measure(
      'mutation { a: sendMessage(text: "1") b: sendMessage(text: "2") ...L } fragment L on Mutation { login }',
    );
    expect(Object.fromEntries(shape.rootFields)).toEqual({ sendMessage: 2, login: 1 });
  });

  it('multiplies cost by a slicing argument, from a literal, a variable or the schema default', () => {
    expect(measure('{ me { friends(first: 10) { id } } }').cost).toBe(1 + 1 + 10 * 1);
    expect(measure('query($n: Int) { me { friends(last: $n) { id } } }', { n: 5 }).cost).toBe(2 + 5);
    expect(measure('{ users { id } }').cost).toBe(1 + 20 * 1);
  });

  it('caps each integer slicing argument at the list size cap', () => {
    expect(measure('{ me { friends(first: 100000) { id } } }', {}, 50).cost).toBe(2 + 50);
  });

  it('uses the assumed size when no slicing argument is given, and the cap for a list with no size', () => {
    expect(measure('{ me { versions { id } } }').cost).toBe(2 + 5);
    expect(measure('{ page { total } }').cost).toBe(1 + 1);
    expect(measure('{ unsized { id } }', {}, 30).cost).toBe(1 + 30);
  });

  it('applies a size to the fields it names (a connection’s items), not to the field itself', () => {
    // page: 1 + items (1 + 50 × 2) + total 1.
    expect(measure('{ page { items { id name } total } }').cost).toBe(1 + (1 + 50 * 2) + 1);
    expect(measure('{ page(first: 3) { ... on UserPage { items { id } } } }').cost).toBe(1 + 1 + 3);
    expect(measure('{ page(last: 4) { ...Items } } fragment Items on UserPage { items { id } }').cost).toBe(
      1 + 1 + 4,
    );
  });

  it('counts a list argument by its length, uncapped: `_entities` returns one per representation', () => {
    const representations = Array.from({ length: 250 }, (_, i) => `r${i}`);
    expect(
      measure('query($r: [String!]!) { entities(representations: $r) { id } }', { r: representations }).cost,
    ).toBe(1 + 250);
  });

  it('multiplies nested lists: five levels of a list of 5 cost 5^5 times the leaf', () => {
    const nested = '{ me { versions { versions { versions { versions { versions { id } } } } } } }';
    expect(measure(nested).cost).toBeGreaterThan(5 ** 5);
  });

  it('counts introspection once per field: its size is the schema’s', () => {
    expect(measure('{ __schema { types { fields { name } } } }').cost).toBe(4);
  });

  it('measures a document whose fragments fan out exponentially in linear time', () => {
    const levels = 40;
    const fragments = Array.from(
      { length: levels },
      (_, i) =>
        `fragment F${i} on User { ${i + 1 < levels ? `a: best { ...F${i + 1} } b: best { ...F${i + 1} }` : 'id'} }`,
    );
    const shape = measure(`{ me { ...F0 } } ${fragments.join(' ')}`);
    expect(shape.depth).toBe(levels + 1);
    expect(shape.cost).toBeGreaterThan(2 ** levels);
  });

  it('treats a fragment cycle (an invalid document) as empty rather than looping', () => {
    const shape = measure(
      '{ me { ...A } } fragment A on User { best { ...B } } fragment B on User { best { ...A } }',
    );
    expect(shape.depth).toBe(3);
  });
});

describe('countTokens', () => {
  it('counts tokens as the parser does, comments aside', () => {
    expect(countTokens('{ me { id } } # a comment', 100)).toBe(6);
  });

  it('stops counting one past the maximum', () => {
    expect(countTokens('{ a b c d e f g h }', 3)).toBe(4);
  });
});
