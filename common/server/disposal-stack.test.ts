import { captureLogs, silentLogger } from '../testing/logger';
import { DisposalStack } from './disposal-stack';

describe('the disposal stack', () => {
  it('releases in reverse order of acquiring, once however often it is disposed', async () => {
    const released: string[] = [];
    const stack = new DisposalStack(silentLogger());
    stack.use('pool', 'pool', (name) => void released.push(name));
    stack.defer('timer', () => void released.push('timer'));
    await Promise.all([stack.dispose(), stack.dispose()]);
    expect(released).toEqual(['timer', 'pool']);
  });

  it('keeps releasing when one release fails, and logs the failure with the resource name', async () => {
    const released: string[] = [];
    const { logger, lines } = captureLogs();
    const stack = new DisposalStack(logger);
    stack.defer('first', () => void released.push('first'));
    stack.defer('broken', () => {
      throw new Error('boom');
    });
    await stack.dispose();
    expect(released).toEqual(['first']);
    expect(lines().map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ resource: 'broken', msg: 'releasing a resource failed' }),
    ]);
  });

  it('unwinds what a failed start acquired and rethrows its error', async () => {
    const released: string[] = [];
    const stack = new DisposalStack(silentLogger());
    await expect(
      stack.build(async (resources) => {
        resources.defer('redis', () => void released.push('redis'));
        throw new Error('postgres refused');
      }),
    ).rejects.toThrow('postgres refused');
    expect(released).toEqual(['redis']);
  });
});
