import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type {
  ChatClient,
  ConversationSettings,
  GenerationEvent,
  Memory,
  SignedInUser,
} from '../chat-client/chat-client';
import { SignedOutError } from '../chat-client/errors';
import {
  type ConversationSettingsInput,
  ConversationMessagesDocument,
  ConversationsDocument,
  type ConversationSummaryFragment,
  CreateConversationDocument,
  DeleteConversationDocument,
  ExportConversationDocument,
  MeDocument,
  SearchMessagesDocument,
} from '../generated/graphql';
import { type Command, HELP, parseCommand } from './commands';
import {
  describeError,
  formatContext,
  formatConversations,
  formatMemories,
  formatMessages,
  formatModels,
  formatRecall,
  formatSearchHits,
  formatSetting,
} from './format';
import { InputClosedError, type Terminal } from './terminal';

export interface TerminalChatOptions {
  client: ChatClient;
  terminal: Terminal;
  /** Where /export writes a file named without a directory. */
  exportDir: string;
}

type OpenConversation = Pick<ConversationSummaryFragment, 'id' | 'title'>;

/**
 * The interactive chat: sign-up or log-in (skipped while the saved session lasts), then a
 * prompt where a line is a message, whose reply streams in as it is written, or a command.
 * Ctrl-C stops a reply that is streaming; Ctrl-C at the prompt, or a second one, leaves.
 */
export class TerminalChat {
  private open: OpenConversation | undefined;
  /** The conversations of the last /list, which /open N and /delete N refer to. */
  private listed: ConversationSummaryFragment[] = [];
  /** The memories of the last /memory, which /memory forget N refers to. */
  private memories: Memory[] = [];
  /** The last reply sent in this session, which /why explains. */
  private lastReply: { conversationId: string; generationId: string } | undefined;
  private streaming: AbortController | undefined;
  /** Settles when the user leaves, which ends a reply being printed at once. */
  private readonly leaving: Promise<void>;
  private leave: () => void = () => undefined;

  constructor(private readonly options: TerminalChatOptions) {
    this.leaving = new Promise((resolve) => (this.leave = resolve));
  }

  private get client() {
    return this.options.client;
  }

  private get terminal() {
    return this.options.terminal;
  }

  /** Runs until /quit, the end of the input, or Ctrl-C at the prompt. */
  async run(): Promise<void> {
    const stopListening = this.terminal.onInterrupt(() => this.interrupt());
    try {
      await this.signIn();
      this.terminal.print('Type a message to chat, or /help.');
      for (;;) {
        const command = parseCommand(await this.terminal.ask(this.prompt()));
        if (command.kind === 'quit') return;
        await this.perform(command);
      }
    } catch (error) {
      if (!(error instanceof InputClosedError)) throw error;
    } finally {
      stopListening();
    }
  }

  private interrupt(): void {
    // The reply's own end reports the stop ("(stopped)"); a notice now would split its text.
    if (this.streaming && !this.streaming.signal.aborted) return this.streaming.abort();
    this.leave();
    this.terminal.close();
  }

  private prompt(): string {
    return `[${this.open?.title ?? 'new conversation'}] > `;
  }

  private async perform(command: Command): Promise<void> {
    try {
      await this.dispatch(command);
    } catch (error) {
      if (error instanceof SignedOutError) {
        this.terminal.print('Your session has ended: sign in again.');
        this.open = undefined;
        return this.signIn();
      }
      const explanation = describeError(error);
      if (explanation === undefined) throw error;
      this.terminal.print(`Error: ${explanation}`);
    }
  }

  private async dispatch(command: Command): Promise<void> {
    switch (command.kind) {
      case 'message':
        return this.send(command.content);
      case 'list':
        return this.list();
      case 'open':
        return this.openConversation(command.index);
      case 'new':
        return this.create(command.title);
      case 'delete':
        return this.delete(command.index);
      case 'search':
        return this.search(command.query);
      case 'export':
        return this.export(command.path);
      case 'memories':
        return this.listMemories();
      case 'remember': {
        const memory = await this.client.remember(command.text);
        return this.terminal.print(`Remembered “${memory.text}”.`);
      }
      case 'forget':
        return this.forget(command.target);
      case 'recall':
        return this.terminal.print(formatRecall(await this.client.setRecallEnabled(command.enabled)));
      case 'why':
        return this.why();
      case 'models':
        return this.models();
      case 'model':
        return this.model(command.change);
      case 'system':
        return command.change === undefined
          ? this.showSetting('System prompt', (settings) => settings.systemPrompt)
          : this.changeSettings({ systemPrompt: command.change }, 'System prompt', (s) => s.systemPrompt);
      case 'temperature':
        return command.change === undefined
          ? this.showSetting('Temperature', (settings) => settings.temperature)
          : this.changeSettings({ temperature: command.change }, 'Temperature', (s) => s.temperature);
      case 'logout':
        await this.client.logout();
        this.open = undefined;
        this.terminal.print('Signed out.');
        return this.signIn();
      case 'help':
        return this.terminal.print(HELP);
      case 'invalid':
        return this.terminal.print(command.problem);
      case 'empty':
      case 'quit':
        return;
    }
  }

  private async signIn(): Promise<void> {
    if (await this.client.isSignedIn()) {
      try {
        return this.greet((await this.client.request(MeDocument)).me);
      } catch (error) {
        if (!(error instanceof SignedOutError)) throw error;
        this.terminal.print('Your saved session has ended.');
      }
    }
    for (;;) {
      const choice = (await this.terminal.ask('(r)egister or (l)og in? ')).trim().toLowerCase();
      if (!['r', 'register', 'l', 'login'].includes(choice)) continue;
      const email = (await this.terminal.ask('Email: ')).trim();
      const password = await this.terminal.askHidden('Password: ');
      try {
        if (choice.startsWith('r')) {
          const displayName = (await this.terminal.ask('Display name: ')).trim();
          return this.greet(await this.client.register({ email, password, displayName }));
        }
        return this.greet(await this.client.login(email, password));
      } catch (error) {
        const explanation = describeError(error);
        if (explanation === undefined) throw error;
        this.terminal.print(`Error: ${explanation}`);
      }
    }
  }

  private greet(user: Pick<SignedInUser, 'displayName' | 'email'>): void {
    this.terminal.print(`Signed in as ${user.displayName} <${user.email}>.`);
  }

  private async send(content: string): Promise<void> {
    const controller = new AbortController();
    this.streaming = controller;
    try {
      const stream = this.client.streamChat(
        { content, conversationId: this.open?.id },
        { signal: controller.signal },
      );
      const sent = await stream.sent;
      this.open ??= sent.conversation;
      this.lastReply = { conversationId: sent.conversation.id, generationId: sent.generation.id };
      const last = await this.printReply(stream);
      if (!last) return;
      this.terminal.print();
      if (last.type === 'STOPPED') this.terminal.print('(stopped)');
      if (last.type === 'ERROR') this.terminal.print(`(the reply failed: ${last.error ?? 'unknown error'})`);
    } finally {
      this.streaming = undefined;
    }
  }

  /** Writes each token as it arrives; resolves with the last event, or nothing if the user left meanwhile. */
  private async printReply(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent | undefined> {
    const iterator = events[Symbol.asyncIterator]();
    let last: GenerationEvent | undefined;
    for (;;) {
      const step = await Promise.race([iterator.next(), this.leaving.then(() => undefined)]);
      // Leaving: the process ends and its socket with it; the reply goes on and is saved.
      if (!step) return undefined;
      if (step.done) return last;
      last = step.value;
      if (last.delta) this.terminal.write(last.delta);
    }
  }

  private async list(): Promise<void> {
    const { me } = await this.client.request(ConversationsDocument, { first: 50 });
    this.listed = me.conversations.edges.map((edge) => edge.node);
    this.terminal.print(formatConversations(this.listed, this.open?.id));
  }

  private listedAt(index: number): ConversationSummaryFragment | undefined {
    const conversation = this.listed[index - 1];
    if (!conversation) this.terminal.print(`No conversation ${index}: /list shows their numbers.`);
    return conversation;
  }

  private async openConversation(index: number): Promise<void> {
    const target = this.listedAt(index);
    if (!target) return;
    const { conversation } = await this.client.request(ConversationMessagesDocument, { id: target.id });
    this.open = conversation;
    this.terminal.print(`— ${conversation.title} —`);
    this.terminal.print(formatMessages(conversation.messages.edges.map((edge) => edge.node)));
  }

  private async create(title: string | undefined): Promise<void> {
    this.open = (await this.client.request(CreateConversationDocument, { title })).createConversation;
    this.terminal.print(`Started “${this.open.title}”.`);
  }

  private async delete(index: number | undefined): Promise<void> {
    const target = index === undefined ? this.open : this.listedAt(index);
    if (!target) {
      if (index === undefined)
        this.terminal.print('No conversation is open: /delete N deletes one from /list.');
      return;
    }
    const answer = await this.terminal.ask(`Delete “${target.title}” and all its messages? (y/N) `);
    if (answer.trim().toLowerCase() !== 'y') return this.terminal.print('Kept.');
    await this.client.request(DeleteConversationDocument, { id: target.id });
    this.listed = this.listed.filter((conversation) => conversation.id !== target.id);
    if (this.open?.id === target.id) this.open = undefined;
    this.terminal.print(`Deleted “${target.title}”.`);
  }

  private async search(query: string): Promise<void> {
    const { searchMessages } = await this.client.request(SearchMessagesDocument, { query, first: 10 });
    this.terminal.print(formatSearchHits(searchMessages));
  }

  private async export(path: string | undefined): Promise<void> {
    if (!this.open) return this.terminal.print('No conversation is open: /open or /new one first.');
    const { exportConversation } = await this.client.request(ExportConversationDocument, {
      id: this.open.id,
      format: 'MARKDOWN',
    });
    const file = resolve(this.options.exportDir, path ?? exportConversation.fileName);
    await writeFile(file, exportConversation.content);
    this.terminal.print(`Wrote ${file}`);
  }

  /** The open conversation's settings; none (the deployment's defaults) when no conversation is open. */
  private async settings(): Promise<ConversationSettings | undefined> {
    return this.open && this.client.conversationSettings(this.open.id);
  }

  private async showSetting(
    label: string,
    value: (settings: ConversationSettings) => string | number | null,
  ): Promise<void> {
    const settings = await this.settings();
    this.terminal.print(formatSetting(label, settings ? value(settings) : null));
  }

  /**
   * Changes settings of the open conversation, or starts one with them when none is open, and
   * shows the setting as the platform stored it. The platform checks every value.
   */
  private async changeSettings(
    change: ConversationSettingsInput,
    label: string,
    value: (settings: ConversationSettings) => string | number | null,
  ): Promise<void> {
    let settings: ConversationSettings;
    if (this.open) {
      settings = await this.client.updateConversationSettings(this.open.id, change);
    } else {
      const created = await this.client.createConversation({ settings: change });
      this.open = created;
      settings = created.settings;
      this.terminal.print(`Started “${created.title}”.`);
    }
    this.terminal.print(formatSetting(label, value(settings)));
  }

  private async models(): Promise<void> {
    const [models, settings] = await Promise.all([this.client.models(), this.settings()]);
    const current = settings?.model ?? models.find((model) => model.isDefault)?.id;
    this.terminal.print(formatModels(models, current));
  }

  /**
   * The platform refuses an id `models` does not list (its coded error names settings.model); one
   * whose provider is down it accepts, so that is said here.
   */
  private async model(change: string | null | undefined): Promise<void> {
    if (change === undefined) return this.showSetting('Model', (settings) => settings.model);
    const chosen = change ? (await this.client.models()).find((model) => model.id === change) : null;
    if (chosen && !chosen.available)
      this.terminal.print(`${chosen.id} is unavailable now: replies fail until it is back.`);
    return this.changeSettings({ model: change }, 'Model', (settings) => settings.model);
  }

  /** What went into the prompt of the open conversation's last reply, if it was sent in this session. */
  private async why(): Promise<void> {
    if (!this.open || this.lastReply?.conversationId !== this.open.id) {
      return this.terminal.print(
        'No reply in this conversation yet this session: /why explains the next one.',
      );
    }
    this.terminal.print(formatContext(await this.client.generationContext(this.lastReply.generationId)));
  }

  private async listMemories(): Promise<void> {
    const { memories, recallEnabled } = await this.client.memories();
    this.memories = memories;
    this.terminal.print(formatMemories(memories));
    this.terminal.print(formatRecall(recallEnabled));
  }

  /** Forgets memory N of the last /memory, or the memory with the id given. */
  private async forget(target: number | string): Promise<void> {
    const memory = typeof target === 'number' ? this.memories[target - 1] : undefined;
    if (typeof target === 'number' && !memory) {
      return this.terminal.print(`No memory ${target}: /memory shows their numbers.`);
    }
    const id = await this.client.forgetMemory(memory?.id ?? String(target));
    this.memories = this.memories.filter((kept) => kept.id !== id);
    this.terminal.print(memory ? `Forgot “${memory.text}”.` : `Forgot ${id}.`);
  }
}
