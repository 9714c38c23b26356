import { Migration } from '@mikro-orm/migrations';

/** Email verification, and the record of who set a role (so ADMIN_EMAILS never undoes a demotion). */
export class Migration20261205000000_email_verification extends Migration {
  override async up(): Promise<void> {
    // Nobody has verified an address yet: accounts made before this migration start unverified.
    this.addSql(`alter table "users" add column "email_verified_at" timestamptz null;`);
    this.addSql(`alter table "users" add column "role_set_at" timestamptz null;`);
    // Someone made these admins (the command line, setUserRole, ADMIN_EMAILS): ADMIN_EMAILS must
    // not promote them again once an operator has demoted them.
    this.addSql(`update "users" set "role_set_at" = now() where "role" = 'ADMIN';`);

    this.addSql(`create table "email_verification_tokens" (
      "token_hash" varchar(64) not null,
      "user_id" uuid not null,
      "email" varchar(320) not null,
      "created_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      constraint "email_verification_tokens_pkey" primary key ("token_hash"),
      constraint "email_verification_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade);`);
    this.addSql(
      `create index "email_verification_tokens_user_id_index" on "email_verification_tokens" ("user_id");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "email_verification_tokens";`);
    this.addSql(`alter table "users" drop column "role_set_at";`);
    this.addSql(`alter table "users" drop column "email_verified_at";`);
  }
}
