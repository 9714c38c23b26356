import { silentLogger } from '../../../common/testing/logger';
import { OfflineProvider } from '../providers/offline';
import { providerErrors } from '../providers/provider';
import { ScriptedProvider } from '../testing/scripted-provider';
import { cleanTitle, heuristicTitle, TitleGenerator } from './title';

describe('conversation titles', () => {
  it('takes the first words of the first sentence for the offline model', () => {
    expect(heuristicTitle('how do I bake sourdough bread at home without a starter? I have yeast.')).toBe(
      'How do I bake sourdough bread…',
    );
    expect(heuristicTitle('  Paris trip!  ')).toBe('Paris trip');
    expect(heuristicTitle('   ')).toBe('Untitled');
  });

  it('cleans what a model returns: first line, no quotes, label or trailing dot', () => {
    expect(cleanTitle('"Baking Sourdough at Home."\nSome explanation')).toBe('Baking Sourdough at Home');
    expect(cleanTitle('Title: **Paris Trip**')).toBe('Paris Trip');
    expect(cleanTitle('\n\n')).toBe('');
  });

  it('asks a language model for the title, with the exchange', async () => {
    const provider = new ScriptedProvider();
    const titles = new TitleGenerator(provider, 'm', silentLogger());
    await expect(titles.title('Plan a trip to Rome', 'Day one: the Colosseum…')).resolves.toBe(
      'A scripted title',
    );
  });

  it('falls back to the first words when the provider fails', async () => {
    const provider = new ScriptedProvider();
    provider.complete = () => Promise.reject(providerErrors.httpStatus(503));
    const titles = new TitleGenerator(provider, 'm', silentLogger());
    await expect(titles.title('Plan a trip to Rome', 'Sure!')).resolves.toBe('Plan a trip to Rome');
  });

  it('never asks the offline provider, which is no language model', async () => {
    const provider = new OfflineProvider({ tokenIntervalMs: 0 });
    const complete = jest.spyOn(provider, 'complete');
    const titles = new TitleGenerator(provider, 'offline', silentLogger());
    await expect(titles.title('hello there, how are you today my friend', 'Hi')).resolves.toBe(
      'Hello there, how are you today…',
    );
    expect(complete).not.toHaveBeenCalled();
  });
});
