import { parse } from 'graphql';
import { documentsByText, oncePerDocument } from './once-per-document';

describe('work once per document', () => {
  it('parses a text once and hands back the same document for it', () => {
    let parses = 0;
    const documentOf = documentsByText(10, (text) => {
      parses += 1;
      return parse(text);
    });

    const first = documentOf('{ a }');

    expect(documentOf('{ a }')).toBe(first);
    expect(documentOf('{ b }')).not.toBe(first);
    expect(parses).toBe(2);
  });

  it('parses a text that fails every time, keeping nothing for it', () => {
    const documentOf = documentsByText(10, parse);
    expect(() => documentOf('{')).toThrow('Syntax Error');
    expect(() => documentOf('{')).toThrow('Syntax Error');
  });

  it('does the work for a document once, whatever it answers', () => {
    let runs = 0;
    const check = oncePerDocument(() => {
      runs += 1;
      return runs === 1 ? undefined : 'second';
    });
    const document = parse('{ a }');

    expect(check(document)).toBeUndefined();
    expect(check(document)).toBeUndefined();
    expect(runs).toBe(1);
    expect(check(parse('{ a }'))).toBe('second');
  });
});
