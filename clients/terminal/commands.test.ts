import { parseCommand } from './commands';

describe('a line at the chat prompt', () => {
  test('is a message unless it starts with /', () => {
    expect(parseCommand('  What is a supergraph?  ')).toEqual({
      kind: 'message',
      content: 'What is a supergraph?',
    });
    expect(parseCommand('   ')).toEqual({ kind: 'empty' });
  });

  test('keeps the spacing of an argument as typed', () => {
    expect(parseCommand('/system  Answer   in verse. ')).toEqual({
      kind: 'system',
      change: 'Answer   in verse.',
    });
    expect(parseCommand('/new Trip  planning')).toEqual({ kind: 'new', title: 'Trip  planning' });
  });

  test('/model, /system and /temperature show a setting alone, set it with a value, and `default` resets it', () => {
    expect(parseCommand('/model')).toEqual({ kind: 'model', change: undefined });
    expect(parseCommand('/model lab/small')).toEqual({ kind: 'model', change: 'lab/small' });
    expect(parseCommand('/model default')).toEqual({ kind: 'model', change: null });
    expect(parseCommand('/system')).toEqual({ kind: 'system', change: undefined });
    expect(parseCommand('/system off')).toEqual({ kind: 'system', change: '' });
    expect(parseCommand('/system default')).toEqual({ kind: 'system', change: null });
    expect(parseCommand('/temperature')).toEqual({ kind: 'temperature', change: undefined });
    expect(parseCommand('/temperature default')).toEqual({ kind: 'temperature', change: null });
  });

  test('/temperature takes any number, leaving its range to the platform, and nothing else', () => {
    expect(parseCommand('/temperature 0.7')).toEqual({ kind: 'temperature', change: 0.7 });
    expect(parseCommand('/temperature .5')).toEqual({ kind: 'temperature', change: 0.5 });
    expect(parseCommand('/temperature 3')).toEqual({ kind: 'temperature', change: 3 });
    expect(parseCommand('/temperature -1')).toEqual({ kind: 'temperature', change: -1 });
    for (const argument of ['warm', '0.7.1', '1e3', '0,7']) {
      expect(parseCommand(`/temperature ${argument}`)).toMatchObject({ kind: 'invalid' });
    }
  });

  test('/memory lists, adds, forgets by number or id, and turns recall on or off', () => {
    expect(parseCommand('/memory')).toEqual({ kind: 'memories' });
    expect(parseCommand('/memory add I prefer  tea.')).toEqual({ kind: 'remember', text: 'I prefer  tea.' });
    expect(parseCommand('/memory forget 2')).toEqual({ kind: 'forget', target: 2 });
    expect(parseCommand('/memory forget 5f0c-ab')).toEqual({ kind: 'forget', target: '5f0c-ab' });
    expect(parseCommand('/memory recall off')).toEqual({ kind: 'recall', enabled: false });
    expect(parseCommand('/memory recall on')).toEqual({ kind: 'recall', enabled: true });
    for (const line of [
      '/memory add',
      '/memory forget',
      '/memory forget 1 2',
      '/memory recall maybe',
      '/memory wipe',
    ]) {
      expect(parseCommand(line)).toMatchObject({
        kind: 'invalid',
        problem: expect.stringContaining('/memory add TEXT'),
      });
    }
  });

  test('an unknown command says where the list is', () => {
    expect(parseCommand('/modles')).toEqual({
      kind: 'invalid',
      problem: 'Unknown command /modles; /help lists them',
    });
  });
});
