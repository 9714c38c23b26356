import { homedir } from 'node:os';
import { join } from 'node:path';
import { ChatClient } from '../chat-client/chat-client';
import { FileTokenStore } from '../chat-client/token-store';
import { Terminal } from './terminal';
import { TerminalChat } from './terminal-chat';

/**
 * `npm run chat`: the terminal chat client.
 *   GRAPHQL_URL      the gateway (default http://localhost:4000/graphql)
 *   CHAT_TOKEN_FILE  where the sign-in is kept, mode 0600 (default $XDG_CONFIG_HOME/llm-chat/tokens.json,
 *                    or ~/.config/llm-chat/tokens.json)
 */
function settings(env: NodeJS.ProcessEnv) {
  const url = env.GRAPHQL_URL || 'http://localhost:4000/graphql';
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new Error(`GRAPHQL_URL must be an http(s) URL, not ${url}`);
  }
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return { url, tokenFile: env.CHAT_TOKEN_FILE || join(configHome, 'llm-chat', 'tokens.json') };
}

async function main(): Promise<void> {
  const { url, tokenFile } = settings(process.env);
  const client = new ChatClient({
    url,
    tokens: new FileTokenStore(tokenFile),
    userAgent: 'llm-chat-terminal',
  });
  const terminal = new Terminal(process.stdin, process.stdout);
  terminal.print(`LLM Chat · ${url}`);
  try {
    await new TerminalChat({ client, terminal, exportDir: process.cwd() }).run();
  } finally {
    terminal.close();
    await client.close();
  }
}

main().then(
  // A reply still streaming when the user left holds the socket open: leave anyway.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
