import 'reflect-metadata';
import { type AuthConfig, loadAuthConfig } from '../config';
import { UserRepository } from '../repositories/user.repository';
import { UserService } from '../services/user.service';
import { runCli, UsageError, withAuthDatabase } from './auth-database';

const USAGE = 'usage: npm run admin -- promote [--unverified] EMAIL';

/**
 * `npm run admin -- promote EMAIL`: makes an existing account ADMIN, for the first admin of a
 * deployment. It takes effect at the user's next sign-in or token refresh. An account whose
 * address is not verified is refused unless `--unverified` says the operator knows who holds it.
 */
export async function runAdminCommand(
  args: string[],
  config: AuthConfig,
  print: (line: string) => void,
): Promise<void> {
  const [command, ...rest] = args;
  const evenUnverified = rest[0] === '--unverified';
  const [email, ...extra] = evenUnverified ? rest.slice(1) : rest;
  if (command !== 'promote' || !email || extra.length > 0) throw new UsageError(USAGE);
  const promotion = await withAuthDatabase(config, (em) =>
    new UserService(new UserRepository(em)).promote(email, { evenUnverified }),
  );
  if (promotion.outcome === 'missing')
    throw new Error(`No account has the email ${email}; register it first`);
  if (promotion.outcome === 'unverified') {
    throw new Error(
      `${promotion.user.email} has not verified its address, so whoever registered it may not be its owner. ` +
        'Have them verify it (the link mailed at registration, or resendVerification), ' +
        'or pass --unverified if you know who holds the account.',
    );
  }
  print(`${promotion.user.email} is now ADMIN (from their next sign-in or token refresh)`);
}

if (require.main === module) {
  runCli((args) => runAdminCommand(args, loadAuthConfig(), (line) => process.stdout.write(`${line}\n`)));
}
