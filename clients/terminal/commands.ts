/** What one line typed at the chat prompt asks for. */
export type Command =
  | { kind: 'message'; content: string }
  | { kind: 'list' }
  | { kind: 'open'; index: number }
  | { kind: 'new'; title?: string }
  | { kind: 'delete'; index?: number }
  | { kind: 'search'; query: string }
  | { kind: 'export'; path?: string }
  | { kind: 'logout' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; problem: string };

export const HELP = `Type a message to chat in the current conversation (a new one if none is open).
  /list             your conversations, numbered
  /open N           open conversation N of the last /list and show its messages
  /new [TITLE]      start a conversation
  /delete [N]       delete conversation N of the last /list (or the open one)
  /search TEXT      your messages closest in meaning to TEXT
  /export [FILE]    write the open conversation as Markdown
  /logout           sign out and forget the saved token
  /help             this list
  /quit             exit (so does Ctrl-D)
Ctrl-C while a reply streams stops it; Ctrl-C at the prompt exits.`;

const positiveInteger = (text: string) => (/^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined);

/** Reads a line: `/name argument…` is a command, anything else a message. */
export function parseCommand(line: string): Command {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  if (!text.startsWith('/')) return { kind: 'message', content: text };
  const [name, ...rest] = text.slice(1).split(/\s+/);
  const argument = rest.join(' ');
  switch (name) {
    case 'list':
    case 'logout':
    case 'help':
    case 'quit':
      return { kind: name };
    case 'open': {
      const index = positiveInteger(argument);
      return index
        ? { kind: 'open', index }
        : { kind: 'invalid', problem: 'Usage: /open N (a number from /list)' };
    }
    case 'new':
      return { kind: 'new', title: argument || undefined };
    case 'delete': {
      if (!argument) return { kind: 'delete' };
      const index = positiveInteger(argument);
      return index
        ? { kind: 'delete', index }
        : { kind: 'invalid', problem: 'Usage: /delete [N] (a number from /list)' };
    }
    case 'search':
      return argument
        ? { kind: 'search', query: argument }
        : { kind: 'invalid', problem: 'Usage: /search TEXT' };
    case 'export':
      return { kind: 'export', path: argument || undefined };
    default:
      return { kind: 'invalid', problem: `Unknown command /${name}; /help lists them` };
  }
}
