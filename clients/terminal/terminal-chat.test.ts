import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, type TestUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../test/support/platform';
import { findFreePort } from '../../common/util/free-port';
import { startTcpProxy, type TcpProxy } from '../../common/testing/tcp-proxy';
import { spawnTypeScript } from '../../common/testing/typescript-process';
import { eventually } from '../../common/testing/wait';
import { openai, startLoopbackServer, type LoopbackServer } from '../../subgraphs/chat/testing/loopback-llm';
import { ChatClient } from '../chat-client';
import {
  ConversationMessagesDocument,
  ConversationsDocument,
  SearchMessagesDocument,
} from '../generated/graphql';

const PROMPT_END = '] > ';

/** `npm run chat` in a child process, driven through its standard input like a person typing. */
class ChatProcess {
  private output = '';
  private chunks = 0;
  private readonly child: ChildProcess;
  readonly exit: Promise<number | null>;

  constructor(env: Record<string, string>, cwd: string) {
    this.child = spawnTypeScript(join(__dirname, 'main.ts'), [], { cwd, env: { ...process.env, ...env } });
    this.exit = once(this.child, 'exit').then(([code]) => code as number | null);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
        this.chunks += 1;
      });
    }
  }

  /** Where the output ends now: later waits and reads start from such a mark. */
  mark(): { at: number; chunks: number } {
    return { at: this.output.length, chunks: this.chunks };
  }

  since(mark: { at: number }): string {
    return this.output.slice(mark.at);
  }

  chunksSince(mark: { chunks: number }): number {
    return this.chunks - mark.chunks;
  }

  /** Resolves with the offset where `text` appears after `from`; fails if the process exits first. */
  async waitFor(text: string, from = 0): Promise<number> {
    const found = () => this.output.indexOf(text, from);
    while (found() === -1) {
      const ended = await Promise.race([
        once(this.child.stdout as NodeJS.ReadableStream, 'data').then(() => false),
        this.exit.then(() => true),
      ]);
      if (ended && found() === -1) {
        throw new Error(`The chat exited before printing ${JSON.stringify(text)}. Output:\n${this.output}`);
      }
    }
    return found();
  }

  /** Types a line and waits for the next prompt; resolves with what was printed in between. */
  async enter(line: string): Promise<string> {
    const mark = this.mark();
    this.type(line);
    const prompt = await this.waitFor(PROMPT_END, mark.at);
    return this.output.slice(mark.at, this.output.lastIndexOf('\n', prompt) + 1).trimEnd();
  }

  type(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  interrupt(): void {
    this.child.kill('SIGINT');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

let platform: TestPlatform;
/** An OpenAI-compatible server named `lab` serving two models, beside the offline one. */
let lab: LoopbackServer;
/** Another, `away`, that stops answering once the platform is up: its model is unavailable. */
let away: LoopbackServer;
/** Between the gateway and the chat subgraph, so a test can cut the gateway's upstream sockets. */
let chatLink: TcpProxy;
let dir: string;
const running: ChatProcess[] = [];

beforeAll(async () => {
  const chatPort = await findFreePort();
  chatLink = await startTcpProxy(`127.0.0.1:${chatPort}`);
  lab = await startLoopbackServer();
  lab.serveModels('small', 'large');
  away = await startLoopbackServer();
  away.serveModels('old');
  platform = await startTestPlatform('terminal-chat', {
    env: {
      OFFLINE_TOKEN_INTERVAL_MS: '25',
      SEARCH_INDEXER_POLL_MS: '50',
      OPENAI_COMPATIBLE_ENDPOINTS: `lab=${lab.url}/v1,away=${away.url}/v1`,
      MODEL_REFRESH_INTERVAL_MS: '200',
    },
    serviceEnv: {
      chat: { CHAT_PORT: String(chatPort) },
      gateway: { CHAT_URL: `http://${chatLink.host}/graphql` },
    },
  });
  away.setDown(true);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'terminal-chat-'));
});
afterEach(async () => {
  for (const chat of running.splice(0)) chat.kill();
  await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await platform?.stop();
  await chatLink?.close();
  await lab?.close();
  await away?.close();
});

const tokenFile = () => join(dir, 'config', 'tokens.json');

function startChat(gatewayUrl = platform.gatewayUrl): ChatProcess {
  const chat = new ChatProcess({ GRAPHQL_URL: gatewayUrl, CHAT_TOKEN_FILE: tokenFile() }, dir);
  running.push(chat);
  return chat;
}

async function loggedIn(user: TestUser, gatewayUrl?: string): Promise<ChatProcess> {
  const chat = startChat(gatewayUrl);
  await chat.waitFor('(r)egister or (l)og in? ');
  chat.type('l');
  chat.type(user.email);
  chat.type(user.password);
  await chat.waitFor(PROMPT_END);
  return chat;
}

async function apiClient(user: TestUser): Promise<ChatClient> {
  const client = new ChatClient({ url: platform.gatewayUrl });
  await client.login(user.email, user.password);
  return client;
}

async function savedMessages(user: TestUser) {
  const client = await apiClient(user);
  try {
    const [newest] = (await client.request(ConversationsDocument)).me.conversations.edges;
    const { conversation } = await client.request(ConversationMessagesDocument, { id: newest.node.id });
    return conversation.messages.edges.map((edge) => edge.node);
  } finally {
    await client.close();
  }
}

test('signs up, keeps the token in a file only its owner can read, and the next run starts signed in', async () => {
  const email = `terminal-${Date.now()}@example.test`;
  const chat = startChat();
  await chat.waitFor('(r)egister or (l)og in? ');
  for (const answer of ['r', email, 'a long passphrase 2', 'Terminal Tess']) chat.type(answer);
  const signedIn = await chat.waitFor(`Signed in as Terminal Tess <${email}>.`);
  await chat.waitFor(PROMPT_END, signedIn);
  chat.type('/quit');
  expect(await chat.exit).toBe(0);

  expect((await stat(tokenFile())).mode & 0o777).toBe(0o600);
  const again = startChat();
  await again.waitFor(PROMPT_END, await again.waitFor(`Signed in as Terminal Tess <${email}>.`));
  again.type('/logout');
  await again.waitFor('(r)egister or (l)og in? ', await again.waitFor('Signed out.'));
  await expect(stat(tokenFile())).rejects.toMatchObject({ code: 'ENOENT' });
});

test('a message streams its reply in as it is written, and the printed reply is the saved one', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  const mark = chat.mark();

  const printed = await chat.enter('What is a federated graph?');

  expect(chat.chunksSince(mark)).toBeGreaterThan(3);
  const [question, answer] = await savedMessages(user);
  expect(question).toMatchObject({ role: 'USER', content: 'What is a federated graph?' });
  expect(answer).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE' });
  expect(printed).toBe(answer.content.trimEnd());
});

/** The reply printed between `mark` and the next prompt (at `prompt`) is the saved, complete one, once. */
async function expectPrintedWholeOnce(
  user: TestUser,
  chat: ChatProcess,
  mark: { at: number },
  prompt: number,
): Promise<void> {
  const [, answer] = await savedMessages(user);
  expect(answer).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE' });
  expect(
    chat
      .since(mark)
      .slice(0, prompt - mark.at)
      .split('\n[')[0]
      .trimEnd(),
  ).toBe(answer.content.trimEnd());
}

test('a reply whose stream the gateway loses midway (its socket to chat dropped) is printed whole, once', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  const mark = chat.mark();
  chat.type('Tell me about sockets that drop');
  // The first words of the reply are out: the generation is streaming.
  await chat.waitFor(' ', mark.at);

  const connectionsAtDrop = chatLink.connections();
  chatLink.dropAll();
  const prompt = await chat.waitFor(PROMPT_END, mark.at);

  await expectPrintedWholeOnce(user, chat, mark, prompt);
  // The gateway connected to the chat subgraph again, for the resumed stream.
  expect(chatLink.connections()).toBeGreaterThan(connectionsAtDrop);
});

test('a reply whose gateway shuts down midway (graphql-ws close 1012) resumes on another gateway and is printed whole, once', async () => {
  const user = await registerUser(platform);
  const leaving = await platform.addGateway();
  // The load balancer in front: new connections go to the other gateway once this one is leaving.
  const front = await startTcpProxy(new URL(leaving.url).host);
  try {
    const chat = await loggedIn(user, `http://${front.host}/graphql`);
    const mark = chat.mark();
    chat.type('Tell me about gateways that restart');
    await chat.waitFor(' ', mark.at);

    front.retarget(new URL(platform.gatewayUrl).host);
    const connectionsAtStop = front.connections();
    await leaving.stop();
    const prompt = await chat.waitFor(PROMPT_END, mark.at);

    await expectPrintedWholeOnce(user, chat, mark, prompt);
    expect(front.connections()).toBeGreaterThan(connectionsAtStop);
  } finally {
    await front.close();
  }
});

test('lists, opens, creates and deletes conversations', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  expect(await chat.enter('/list')).toContain('No conversations yet');

  expect(await chat.enter('/new Trip planning')).toContain('Started “Trip planning”.');
  await chat.enter('Where should I go in spring?');
  await chat.enter('/new Recipes');
  const listing = await chat.enter('/list');
  expect(listing).toMatch(/\*\s+1\. Recipes/);
  expect(listing).toMatch(/2\. Trip planning/);

  const opened = await chat.enter('/open 2');
  expect(opened).toContain('— Trip planning —');
  expect(opened).toContain('you: Where should I go in spring?');
  expect(opened).toContain('assistant: ');

  chat.type('/delete 1');
  await chat.waitFor('Delete “Recipes” and all its messages? (y/N) ');
  expect(await chat.enter('y')).toContain('Deleted “Recipes”.');
  const after = await chat.enter('/list');
  expect(after).not.toContain('Recipes');
  expect(after).toContain('Trip planning');
});

test('Ctrl-C stops a streaming reply and keeps what was written; Ctrl-C at the prompt exits', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  const mark = chat.mark();
  chat.type('Tell me a very long story about subgraphs and gateways');
  // The first words of the reply are out: the generation is streaming.
  await chat.waitFor(' ', mark.at);

  chat.interrupt();
  await chat.waitFor(PROMPT_END, await chat.waitFor('\n(stopped)\n', mark.at));

  const [, answer] = await savedMessages(user);
  expect(answer.status).toBe('STOPPED');
  expect(chat.since(mark).split('\n(stopped)')[0]).toBe(answer.content);
  chat.interrupt();
  expect(await chat.exit).toBe(0);
});

test('/search finds messages by meaning and /export writes the conversation as Markdown', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  await chat.enter('/new Astronomy');
  await chat.enter('How far away is the Andromeda galaxy?');
  const client = await apiClient(user);
  await eventually(
    async () => {
      const { searchMessages } = await client.request(SearchMessagesDocument, {
        query: 'Andromeda galaxy distance',
      });
      expect(searchMessages.map((hit) => hit.message.role)).toContain('USER');
    },
    { timeoutMs: 20_000 },
  );
  await client.close();

  const hits = await chat.enter('/search Andromeda galaxy distance');
  expect(hits).toMatch(/\d\.\d\d {2}\[Astronomy\] you: How far away is the Andromeda galaxy\?/);

  const exported = await chat.enter('/export');
  const path = exported.match(/Wrote (.+)$/m)?.[1] ?? '';
  expect(path.startsWith(dir)).toBe(true);
  expect(path.endsWith('.md')).toBe(true);
  const markdown = await readFile(path, 'utf8');
  expect(markdown).toContain('Astronomy');
  expect(markdown).toContain('How far away is the Andromeda galaxy?');
});

describe('settings of the open conversation', () => {
  interface LabRequest {
    model: string;
    messages: { role: string; content: string }[];
    temperature?: number;
  }
  const labReply = (text: string) =>
    lab.enqueue({ kind: 'sse', events: [openai.text(text), openai.finish(), openai.usage(), openai.done] });
  const lastLabRequest = () => lab.requests[lab.requests.length - 1].body as LabRequest;

  test('/models lists every model with its availability and marks the current one; /model switches it', async () => {
    const user = await registerUser(platform);
    const chat = await loggedIn(user);
    await eventually(async () => expect(await chat.enter('/models')).toMatch(/away\/old.*unavailable now/));

    const listed = await chat.enter('/models');
    expect(listed).toMatch(/^\* offline\/echo .*\(default\)$/m);
    expect(listed).toMatch(/^ {2}lab\/small$/m);
    expect(listed).toMatch(/^ {2}lab\/large$/m);
    expect(await chat.enter('/model')).toBe("Model: the deployment's default");

    expect(await chat.enter('/model lab/large')).toBe('Started “New conversation”.\nModel: lab/large');
    expect(await chat.enter('/models')).toMatch(/^\* lab\/large$/m);
    labReply('Large here.');
    expect(await chat.enter('Which model are you?')).toBe('Large here.');
    expect(lastLabRequest().model).toBe('large');

    expect(await chat.enter('/model lab/small')).toBe('Model: lab/small');
    labReply('Small here.');
    expect(await chat.enter('And now?')).toBe('Small here.');
    expect(lastLabRequest().model).toBe('small');
  });

  test("/model of an id /models does not list is the platform's coded error; a stored one it no longer serves is refused at the next message", async () => {
    const user = await registerUser(platform);
    const chat = await loggedIn(user);
    await chat.enter('/new Models');

    expect(await chat.enter('/model lab/huge')).toBe(
      'Error: BAD_USER_INPUT: Unknown model "lab/huge"; the models query lists the available ones (settings.model)',
    );
    expect(await chat.enter('/model')).toBe("Model: the deployment's default");

    lab.serveModels('small', 'large', 'retired');
    await eventually(async () => expect(await chat.enter('/model lab/retired')).toBe('Model: lab/retired'));
    lab.serveModels('small', 'large');
    await eventually(async () => expect(await chat.enter('/models')).not.toMatch(/lab\/retired/));
    expect(await chat.enter('Hello?')).toBe(
      'Error: BAD_USER_INPUT: Unknown model "lab/retired"; the models query lists the available ones (settings.model)',
    );
  });

  test('/system shows, sets and turns off the system prompt; the model receives it first', async () => {
    const user = await registerUser(platform);
    const chat = await loggedIn(user);
    await chat.enter('/model lab/small');

    expect(await chat.enter('/system')).toBe("System prompt: the deployment's default");
    expect(await chat.enter('/system Answer   like a pirate.')).toBe(
      'System prompt: Answer   like a pirate.',
    );
    labReply('Arr.');
    await chat.enter('Hello');
    expect(lastLabRequest().messages[0]).toEqual({ role: 'system', content: 'Answer   like a pirate.' });

    expect(await chat.enter('/system off')).toBe('System prompt: none');
    labReply('Hello.');
    await chat.enter('Hello again');
    expect(lastLabRequest().messages.map((message) => message.content)).not.toContain(
      'Answer   like a pirate.',
    );
    expect(await chat.enter('/system default')).toBe("System prompt: the deployment's default");
  });

  test('/temperature sets what the model receives; a value out of range is an error of the platform naming the field', async () => {
    const user = await registerUser(platform);
    const chat = await loggedIn(user);
    await chat.enter('/model lab/small');

    expect(await chat.enter('/temperature 0.2')).toBe('Temperature: 0.2');
    labReply('Cool.');
    await chat.enter('Hello');
    expect(lastLabRequest().temperature).toBe(0.2);

    expect(await chat.enter('/temperature 3')).toBe(
      'Error: BAD_USER_INPUT: settings.temperature must be from 0 to 2 (settings.temperature)',
    );
    expect(await chat.enter('/temperature warm')).toBe(
      'Usage: /temperature [N] (a number such as 0.7, or default)',
    );
    expect(await chat.enter('/temperature')).toBe('Temperature: 0.2');
    expect(await chat.enter('/temperature default')).toBe("Temperature: the deployment's default");
  });

  test('/help lists the commands', async () => {
    const user = await registerUser(platform);
    const chat = await loggedIn(user);

    const help = await chat.enter('/help');

    for (const command of [
      '/list',
      '/models',
      '/model [ID]',
      '/system [TEXT]',
      '/temperature [N]',
      '/memory add TEXT',
      '/memory forget N',
      '/memory recall on|off',
      '/why',
      '/quit',
    ]) {
      expect(help).toContain(command);
    }
  });
});

test('/memory lists what is remembered, adds, forgets by number or id, and turns recall off and on', async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  expect(await chat.enter('/memory')).toBe(
    'Nothing remembered: /memory add TEXT adds something.\nRecall from your other conversations: on',
  );

  expect(await chat.enter('/memory add I prefer tea.')).toBe('Remembered “I prefer tea.”.');
  await chat.enter('/memory add I use metric units.');
  await chat.enter('/memory add I live in Lisbon.');
  const listed = await chat.enter('/memory');
  const numbered = [...listed.matchAll(/^ +(\d)\. (.+?) {2}\(\d{4}-\d\d-\d\d \d\d:\d\d, (.+)\)$/gm)];
  expect(numbered.map(([, n]) => n)).toEqual(['1', '2', '3']);
  expect(numbered.map(([, , text]) => text).sort()).toEqual([
    'I live in Lisbon.',
    'I prefer tea.',
    'I use metric units.',
  ]);
  const [, firstNumber, firstText] = numbered[0];
  const [, , secondText, secondId] = numbered[1];

  expect(await chat.enter(`/memory forget ${firstNumber}`)).toBe(`Forgot “${firstText}”.`);
  expect(await chat.enter(`/memory forget ${secondId}`)).toBe(`Forgot ${secondId}.`);
  expect(await chat.enter('/memory forget 9')).toBe('No memory 9: /memory shows their numbers.');
  const client = await apiClient(user);
  const left = (await client.memories()).memories.map((memory) => memory.text);
  expect(left).toHaveLength(1);
  expect(left).not.toContain(firstText);
  expect(left).not.toContain(secondText);

  expect(await chat.enter('/memory recall off')).toBe('Recall from your other conversations: off');
  expect((await client.memories()).recallEnabled).toBe(false);
  expect(await chat.enter('/memory')).toContain('Recall from your other conversations: off');
  expect(await chat.enter('/memory recall on')).toBe('Recall from your other conversations: on');
  await client.close();
});

test("/why shows what went into the open conversation's last reply: here a remembered text", async () => {
  const user = await registerUser(platform);
  const chat = await loggedIn(user);
  expect(await chat.enter('/why')).toBe(
    'No reply in this conversation yet this session: /why explains the next one.',
  );

  await chat.enter('/memory add I prefer tea.');
  await chat.enter('What should I drink?');

  expect(await chat.enter('/why')).toBe(
    ['Your instructions: none', 'Memories:', '  - I prefer tea.', 'From your other conversations: none'].join(
      '\n',
    ),
  );
  await chat.enter('/new Another');
  expect(await chat.enter('/why')).toBe(
    'No reply in this conversation yet this session: /why explains the next one.',
  );
});
