import 'reflect-metadata';
import { type AuthConfig, loadAuthConfig } from '../config';
import { UserService } from '../services/user.service';
import { runCli, UsageError, withAuthDatabase } from './auth-database';

const USAGE = 'usage: npm run admin -- promote EMAIL';

/**
 * `npm run admin -- promote EMAIL`: makes an existing account ADMIN, for the first admin of a
 * deployment. It takes effect at the user's next sign-in or token refresh.
 */
export async function runAdminCommand(
  args: string[],
  config: AuthConfig,
  print: (line: string) => void,
): Promise<void> {
  const [command, email, ...rest] = args;
  if (command !== 'promote' || !email || rest.length > 0) throw new UsageError(USAGE);
  const promoted = await withAuthDatabase(config, (em) => new UserService(em).promote([email]));
  if (promoted.length === 0) throw new Error(`No account has the email ${email}; register it first`);
  print(`${promoted[0].email} is now ADMIN (from their next sign-in or token refresh)`);
}

if (require.main === module) {
  runCli((args) => runAdminCommand(args, loadAuthConfig(), (line) => process.stdout.write(`${line}\n`)));
}
