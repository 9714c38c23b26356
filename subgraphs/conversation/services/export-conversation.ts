import type { ConversationRecord } from '../records/conversation.record';
import { type MessageRecord, MessageRole } from '../records/message.record';

export enum ExportFormat {
  JSON = 'JSON',
  MARKDOWN = 'MARKDOWN',
}

export interface ExportedConversation {
  format: ExportFormat;
  fileName: string;
  mimeType: string;
  content: string;
}

/** The version of the JSON export's shape, for readers that outlive this code. */
export const JSON_EXPORT_VERSION = 1;

const ROLE_HEADINGS: Record<MessageRole, string> = {
  [MessageRole.USER]: 'User',
  [MessageRole.ASSISTANT]: 'Assistant',
  [MessageRole.SYSTEM]: 'System',
};

/**
 * JSON holds everything (every branch, as a tree through `parentId`, and which leaf is
 * active), for backup and import; Markdown is the transcript a person reads: the active branch.
 */
export function exportConversation(
  conversation: ConversationRecord,
  messages: MessageRecord[],
  format: ExportFormat,
): ExportedConversation {
  const baseName = fileNameOf(conversation.title);
  if (format === ExportFormat.JSON) {
    return {
      format,
      fileName: `${baseName}.json`,
      mimeType: 'application/json',
      content: `${JSON.stringify(toJson(conversation, messages), null, 2)}\n`,
    };
  }
  return {
    format,
    fileName: `${baseName}.md`,
    mimeType: 'text/markdown',
    content: toMarkdown(conversation, activeBranch(conversation, messages), messages.length),
  };
}

function toJson(conversation: ConversationRecord, messages: MessageRecord[]) {
  return {
    version: JSON_EXPORT_VERSION,
    id: conversation.id,
    title: conversation.title,
    createdAt: conversation.createdAt,
    updatedAt: conversation.updatedAt,
    lastActivityAt: conversation.lastActivityAt,
    activeLeafId: conversation.activeLeafId,
    messages: messages.map((message) => ({
      id: message.id,
      parentId: message.parentId,
      role: message.role,
      status: message.status,
      content: message.content,
      model: message.model,
      promptTokens: message.promptTokens,
      completionTokens: message.completionTokens,
      createdAt: message.createdAt,
      updatedAt: message.updatedAt,
    })),
  };
}

function toMarkdown(conversation: ConversationRecord, branch: MessageRecord[], total: number): string {
  const lines = [`# ${conversation.title}`, ''];
  lines.push(
    `_Created ${conversation.createdAt.toISOString()}, last active ${conversation.lastActivityAt.toISOString()}._`,
  );
  if (branch.length < total) {
    lines.push(
      '',
      `_The active branch: ${branch.length} of ${total} messages; other branches are in the JSON export._`,
    );
  }
  for (const message of branch) {
    const details = [message.model, message.status === 'COMPLETE' ? null : message.status.toLowerCase()]
      .filter(Boolean)
      .join(', ');
    lines.push('', `## ${ROLE_HEADINGS[message.role]}${details ? ` (${details})` : ''}`, '', message.content);
  }
  return `${lines.join('\n')}\n`;
}

/** The messages from the root to the active leaf, found by following parents up from the leaf. */
function activeBranch(conversation: ConversationRecord, messages: MessageRecord[]): MessageRecord[] {
  const byId = new Map(messages.map((message) => [message.id, message]));
  const branch: MessageRecord[] = [];
  for (
    let message = conversation.activeLeafId ? byId.get(conversation.activeLeafId) : undefined;
    message;
    message = message.parentId ? byId.get(message.parentId) : undefined
  ) {
    branch.push(message);
  }
  return branch.reverse();
}

/** A file name any file system accepts, from the title. */
function fileNameOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/[\s_-]+/g, '-')
    .toLowerCase()
    .slice(0, 80);
  return slug || 'conversation';
}
