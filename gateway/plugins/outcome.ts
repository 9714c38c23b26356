import type { BaseContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';

interface ErrorLike {
  extensions?: Readonly<Record<string, unknown>>;
}

/** `ok`, or the code of the first error the client received: a bounded label for logs and metrics. */
export function outcomeOf(errors: readonly ErrorLike[] | undefined): string {
  if (!errors || errors.length === 0) return 'ok';
  const code = errors[0].extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** The errors of a response as the client gets them (after masking). */
export function sentErrors(context: Pick<GraphQLRequestContextWillSendResponse<BaseContext>, 'response'>) {
  const body = context.response.body;
  return body.kind === 'single' ? body.singleResult.errors : undefined;
}
