import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'graphql';
import { SupergraphPlanner } from './planner';

describe('SupergraphPlanner', () => {
  const planner = new SupergraphPlanner(
    readFileSync(join(__dirname, '../../schema/supergraph.graphql'), 'utf8'),
  );

  it('validates a document once: the same document gets the same answer without another pass', () => {
    const document = parse('subscription Follow($id: ID!) { generation(id: $id) { seq type delta } }');

    const first = planner.validate(document);

    expect(first).toEqual([]);
    expect(planner.validate(document)).toBe(first);
  });

  it('keeps the errors of a document that does not validate', () => {
    const document = parse('subscription { generation(id: "g") { noSuchField } }');

    const errors = planner.validate(document);

    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining('Cannot query field "noSuchField"'),
    ]);
    expect(planner.validate(document)).toBe(errors);
  });

  it('plans an operation once per text and operation name', () => {
    const text = 'subscription Follow($id: ID!) { generation(id: $id) { seq } }';
    const plan = planner.plan(parse(text), 'Follow', text);

    expect(planner.plan(parse(text), 'Follow', text)).toBe(plan);
  });
});
