import { badUserInput, forbidden, notFound } from '../../../common/errors/errors';
import { isUuid } from '../../../common/util/ids';
import {
  buildConnection,
  checkPageSize,
  type Connection,
  decodeCursor,
  encodeCursor,
} from '../../../common/graphql/pagination';
import {
  type ConversationSettings,
  DEFAULT_CONVERSATION_SETTINGS,
} from '../../../common/records/conversation-settings.record';
import { type ConversationRecord, DEFAULT_TITLE, newConversation } from '../records/conversation.record';
import {
  applySettingsChange,
  changesModelLimits,
  checkAgainstModels,
  type SettingsChange,
} from './conversation-settings';
import { type ExportedConversation, type ExportFormat, exportConversation } from './export-conversation';
import type { ServiceContext } from './service-context';
import { type Caller, requireUser } from '../../../common/identity/caller';

export const MAX_TITLE_LENGTH = 200;

/** Position of a conversation in its owner's list: most recently active first, id breaks ties. */
type ListCursor = [lastActivityAt: string, id: string];

const isListCursor = (value: unknown): value is ListCursor =>
  Array.isArray(value) &&
  value.length === 2 &&
  typeof value[0] === 'string' &&
  !Number.isNaN(Date.parse(value[0])) &&
  isUuid(value[1]);

export function normaliseTitle(title: string | null | undefined, field = 'title'): string {
  if (title === null || title === undefined) return DEFAULT_TITLE;
  const trimmed = title.trim();
  if (trimmed.length < 1 || trimmed.length > MAX_TITLE_LENGTH) {
    throw badUserInput(field, `${field} must be 1 to ${MAX_TITLE_LENGTH} characters`);
  }
  return trimmed;
}

export interface NewConversation {
  title?: string | null;
  /** Copies the settings of one of the caller's presets; `settings` then changes some of them. */
  presetId?: string | null;
  settings?: SettingsChange | null;
}

/** Conversations: their lifecycle, listing and export. Every method checks ownership. */
export class ConversationService {
  constructor(private readonly context: ServiceContext) {}

  async create(caller: Caller, input: NewConversation = {}): Promise<ConversationRecord> {
    const { userId: ownerId } = requireUser(caller);
    const normalised = normaliseTitle(input.title);
    const settings = applySettingsChange(
      input.presetId == null
        ? DEFAULT_CONVERSATION_SETTINGS
        : await this.presetSettings(ownerId, input.presetId),
      input.settings ?? {},
    );
    // All of them, a preset's too: they are stored anew, and the preset's model may be gone.
    checkAgainstModels(settings, await this.context.models.models());
    await this.context.conversationCreations.spend(ownerId);
    const conversation = newConversation(ownerId, normalised, settings);
    await this.context.repositories.conversations.insert(conversation);
    await this.context.cache.conversationChanged(ownerId, conversation.id);
    return conversation;
  }

  /** The conversation if the caller owns it; a foreign id is indistinguishable from a missing one. */
  async get(caller: Caller, id: string): Promise<ConversationRecord> {
    const { userId: ownerId } = requireUser(caller);
    // Cached whoever owns it (ownership never changes), and checked here on every read.
    const conversation = isUuid(id)
      ? await this.context.cache.conversation(id, async () => {
          const [row] = await this.context.repositories.conversations.findByIds([id], null);
          return row ?? null;
        })
      : null;
    if (!conversation || conversation.ownerId !== ownerId) throw notFound('Conversation');
    return conversation;
  }

  /** For entity references and fields of other types: null when missing or not the caller's. */
  visible(id: string): Promise<ConversationRecord | null> {
    return this.context.loaders.conversation.load(id);
  }

  async list(
    caller: Caller,
    userId: string,
    first: number,
    after: string | null,
  ): Promise<Connection<ConversationRecord>> {
    const { userId: ownerId } = requireUser(caller);
    if (ownerId !== userId) throw forbidden('You can only list your own conversations');
    checkPageSize(first, 'first');
    const position = after ? decodeCursor(after, 'after', isListCursor) : null;
    const page = await this.context.cache.listPage(ownerId, `${first}:${after ?? ''}`, async () => {
      const rows = await this.context.repositories.conversations.listByOwner(
        ownerId,
        first + 1,
        position && { lastActivityAt: new Date(position[0]), id: position[1] },
      );
      return buildConnection(
        rows.slice(0, first),
        (row) => encodeCursor([row.lastActivityAt.toISOString(), row.id] satisfies ListCursor),
        { hasNextPage: rows.length > first, hasPreviousPage: position !== null },
      );
    });
    // Fields below the list (a message's conversation) then need no query of their own.
    for (const { node } of page.edges) this.context.loaders.conversation.prime(node.id, node);
    return page;
  }

  async rename(caller: Caller, id: string, title: string): Promise<ConversationRecord> {
    const { userId: ownerId } = requireUser(caller);
    const normalised = normaliseTitle(title);
    const renamed = isUuid(id)
      ? await this.context.repositories.conversations.rename(ownerId, id, normalised)
      : null;
    if (!renamed) throw notFound('Conversation');
    await this.context.cache.conversationChanged(ownerId, id);
    return renamed;
  }

  /** Changes some settings (absent fields stay, null ones go back to the default); all checked first. */
  async updateSettings(caller: Caller, id: string, change: SettingsChange): Promise<ConversationRecord> {
    const { userId: ownerId } = requireUser(caller);
    if (!isUuid(id)) throw notFound('Conversation');
    // Read before the row is locked; only a change of the model or its limits is checked against it.
    const models = changesModelLimits(change) ? await this.context.models.models() : null;
    const updated = await this.context.repositories.withTransaction(async ({ conversations }) => {
      const current = await conversations.lockOwned(ownerId, id);
      if (!current) throw notFound('Conversation');
      const next = applySettingsChange(current.settings, change);
      checkAgainstModels(next, models);
      return conversations.updateSettings(id, next);
    });
    await this.context.cache.conversationChanged(ownerId, id);
    return updated;
  }

  /** Deletes the conversation and its messages; their vectors follow through the outbox. */
  async delete(caller: Caller, id: string): Promise<string> {
    const { userId: ownerId } = requireUser(caller);
    if (!isUuid(id)) throw notFound('Conversation');
    await this.context.repositories.withTransaction(async ({ conversations, outbox }) => {
      if (!(await conversations.lockOwned(ownerId, id))) throw notFound('Conversation');
      await conversations.delete(id);
      await outbox.enqueueConversationDeletion(id);
    });
    await this.context.cache.conversationChanged(ownerId, id);
    this.context.indexer.wake();
    return id;
  }

  /**
   * Makes the branch through `messageId` the active one, down to its newest leaf (always
   * following the most recent child), as a client does when it shows another sibling.
   */
  async switchBranch(caller: Caller, messageId: string): Promise<ConversationRecord> {
    const { userId: ownerId } = requireUser(caller);
    const message = await this.context.loaders.message.load(messageId);
    if (!message || message.ownerId !== ownerId) throw notFound('Message');
    const switched = await this.context.repositories.withTransaction(async ({ conversations, messages }) => {
      if (!(await conversations.lockOwned(ownerId, message.conversationId))) throw notFound('Message');
      return conversations.setActiveLeaf(message.conversationId, await messages.newestLeafUnder(messageId));
    });
    await this.context.cache.conversationChanged(ownerId, message.conversationId);
    return switched;
  }

  async export(caller: Caller, id: string, format: ExportFormat): Promise<ExportedConversation> {
    const conversation = await this.get(caller, id);
    const messages = await this.context.repositories.messages.allInConversation(id);
    return exportConversation(conversation, messages, format);
  }

  /** A preset's settings, copied (later changes to the preset do not follow); NOT_FOUND if not the owner's. */
  private async presetSettings(ownerId: string, presetId: string): Promise<ConversationSettings> {
    const preset = isUuid(presetId)
      ? await this.context.repositories.preferences.preset(ownerId, presetId)
      : null;
    if (!preset) throw notFound('Preset');
    return preset.settings;
  }
}
