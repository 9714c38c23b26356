import { DEFAULT_CONVERSATION_SETTINGS } from '../../../common/records/conversation-settings.record';
import { type KnownConversation, KnownConversations } from './known-conversations';

const ownedBy = (ownerId: string, systemPrompt: string | null = null): KnownConversation => ({
  ownerId,
  settings: { ...DEFAULT_CONVERSATION_SETTINGS, systemPrompt },
  recallEnabled: true,
});

describe('the conversations a chat process knows', () => {
  it('answers only for the owner it learned, as last remembered', () => {
    const known = new KnownConversations();
    known.remember('c1', ownedBy('ada'));
    expect(known.ownedBy('c1', 'ada')).toEqual(ownedBy('ada'));
    expect(known.ownedBy('c1', 'grace')).toBeUndefined();
    expect(known.ownedBy('c2', 'ada')).toBeUndefined();
    known.remember('c1', ownedBy('ada', 'Be brief.'));
    expect(known.ownedBy('c1', 'ada')?.settings.systemPrompt).toBe('Be brief.');
    known.forget('c1');
    expect(known.ownedBy('c1', 'ada')).toBeUndefined();
  });

  it('keeps the most recently used up to its capacity, forgetting the least recent first', () => {
    const known = new KnownConversations(2);
    known.remember('c1', ownedBy('ada'));
    known.remember('c2', ownedBy('ada'));
    // Remembered again (each of its turns does): now the most recent.
    known.remember('c1', ownedBy('ada'));
    known.remember('c3', ownedBy('ada'));
    expect(['c1', 'c2', 'c3'].map((id) => known.ownedBy(id, 'ada') !== undefined)).toEqual([
      true,
      false,
      true,
    ]);
  });
});
