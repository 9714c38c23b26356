/**
 * Lower-case word tokens the way the wink vectors spell them: apostrophes inside a word are
 * dropped ("don't" → "dont", which the vocabulary has), everything else that is not a letter
 * or a digit separates words.
 */
export function tokenize(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .replace(/(\p{L})['’](\p{L})/gu, '$1$2')
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}
