/** What one line typed at the chat prompt asks for. */
export type Command =
  | { kind: 'message'; content: string }
  | { kind: 'list' }
  | { kind: 'open'; index: number }
  | { kind: 'new'; title?: string }
  | { kind: 'delete'; index?: number }
  | { kind: 'search'; query: string }
  | { kind: 'export'; path?: string }
  | { kind: 'models' }
  /** Each setting command shows the setting without `change`; a null change goes back to the default. */
  | { kind: 'model'; change?: string | null }
  | { kind: 'system'; change?: string | null }
  | { kind: 'temperature'; change?: number | null }
  | { kind: 'memories' }
  | { kind: 'remember'; text: string }
  /** A number of the last /memory list, or a memory's id. */
  | { kind: 'forget'; target: number | string }
  | { kind: 'recall'; enabled: boolean }
  /** What went into the prompt of the open conversation's last reply in this session. */
  | { kind: 'why' }
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
  /models           the models you can choose (* marks the open conversation's)
  /model [ID]       show, or set, the open conversation's model (default: the deployment's)
  /system [TEXT]    show, or set, its system prompt (off: none at all; default: the deployment's)
  /temperature [N]  show, or set, its temperature, from 0 to 2 (default: the deployment's)
  /memory           what the assistant remembers about you, numbered, and whether recall is on
  /memory add TEXT  remember TEXT in every conversation from now on
  /memory forget N  forget memory N of the last /memory (or the one with that id)
  /memory recall on|off  whether replies may draw on your other conversations
  /why              what went into the last reply's prompt: instructions, memories, recalled messages
  /logout           sign out and forget the saved token
  /help             this list
  /quit             exit (so does Ctrl-D)
Ctrl-C while a reply streams stops it; Ctrl-C at the prompt exits.`;

const positiveInteger = (text: string) => (/^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined);

/** A setting's argument: none shows it, `default` goes back to the deployment's. */
const settingChange = <T>(argument: string, value: (text: string) => T): T | null | undefined => {
  if (argument === '') return undefined;
  return argument === 'default' ? null : value(argument);
};

const NUMBER = /^-?(\d+(\.\d+)?|\.\d+)$/;

const MEMORY_USAGE = 'Usage: /memory, /memory add TEXT, /memory forget N (or ID), /memory recall on|off';

function parseMemory(argument: string): Command {
  if (argument === '') return { kind: 'memories' };
  const action = argument.split(/\s/, 1)[0];
  const rest = argument.slice(action.length).trim();
  if (action === 'add' && rest) return { kind: 'remember', text: rest };
  if (action === 'forget' && rest && !/\s/.test(rest))
    return { kind: 'forget', target: positiveInteger(rest) ?? rest };
  if (action === 'recall' && (rest === 'on' || rest === 'off'))
    return { kind: 'recall', enabled: rest === 'on' };
  return { kind: 'invalid', problem: MEMORY_USAGE };
}

/** Reads a line: `/name argument…` is a command, anything else a message. */
export function parseCommand(line: string): Command {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  if (!text.startsWith('/')) return { kind: 'message', content: text };
  const name = text.slice(1).split(/\s/, 1)[0];
  const argument = text.slice(name.length + 1).trim();
  switch (name) {
    case 'list':
    case 'models':
    case 'why':
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
    case 'model':
      return { kind: 'model', change: settingChange(argument, (id) => id) };
    case 'system':
      return {
        kind: 'system',
        change: settingChange(argument, (prompt) => (prompt === 'off' ? '' : prompt)),
      };
    case 'temperature':
      // The range is the platform's to check (its error names the field); this only reads a number.
      return argument === '' || argument === 'default' || NUMBER.test(argument)
        ? { kind: 'temperature', change: settingChange(argument, Number) }
        : { kind: 'invalid', problem: 'Usage: /temperature [N] (a number such as 0.7, or default)' };
    case 'memory':
      return parseMemory(argument);
    default:
      return { kind: 'invalid', problem: `Unknown command /${name}; /help lists them` };
  }
}
