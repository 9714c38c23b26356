import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { gatewayEnv } from '../gateway/config';
import { authEnv } from '../subgraphs/auth/config';
import { chatEnv } from '../subgraphs/chat/config';
import { conversationEnv } from '../subgraphs/conversation/config';

describe('.env.example', () => {
  it.each(
    Object.entries({ auth: authEnv, conversation: conversationEnv, chat: chatEnv, gateway: gatewayEnv }),
  )('lists every variable the %s service reads', async (_service, shape) => {
    const example = await readFile(join(projectRoot(), '.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    expect(Object.keys(shape).filter((name) => !listed.has(name))).toEqual([]);
  });
});
