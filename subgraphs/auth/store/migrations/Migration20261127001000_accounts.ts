import { Migration } from '@mikro-orm/migrations';

/** Passwords, sessions with rotating refresh tokens, password reset tokens, signing keys. */
export class Migration20261127001000_accounts extends Migration {
  override async up(): Promise<void> {
    // No account could be created before this migration (there was no register), so no row lacks a hash.
    this.addSql(`alter table "users" add column "password_hash" varchar(255) not null;`);

    this.addSql(`create table "sessions" (
      "id" uuid not null,
      "user_id" uuid not null,
      "user_agent" varchar(512) null,
      "created_at" timestamptz not null default now(),
      "last_used_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      "revoked_at" timestamptz null,
      constraint "sessions_pkey" primary key ("id"),
      constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade);`);
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);

    this.addSql(`create table "refresh_tokens" (
      "token_hash" varchar(64) not null,
      "session_id" uuid not null,
      "created_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      "rotated_at" timestamptz null,
      constraint "refresh_tokens_pkey" primary key ("token_hash"),
      constraint "refresh_tokens_session_id_foreign" foreign key ("session_id") references "sessions" ("id") on delete cascade);`);
    // At most one live refresh token per session, whatever races happen.
    this.addSql(
      `create unique index "refresh_tokens_one_live_per_session" on "refresh_tokens" ("session_id") where "rotated_at" is null;`,
    );

    this.addSql(`create table "password_reset_tokens" (
      "token_hash" varchar(64) not null,
      "user_id" uuid not null,
      "created_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      constraint "password_reset_tokens_pkey" primary key ("token_hash"),
      constraint "password_reset_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade);`);
    this.addSql(`create index "password_reset_tokens_user_id_index" on "password_reset_tokens" ("user_id");`);

    this.addSql(`create table "signing_keys" (
      "kid" varchar(64) not null,
      "algorithm" varchar(16) not null,
      "public_jwk" jsonb not null,
      "private_jwk" jsonb not null,
      "created_at" timestamptz not null default now(),
      "activates_at" timestamptz not null,
      constraint "signing_keys_pkey" primary key ("kid"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "signing_keys";`);
    this.addSql(`drop table if exists "password_reset_tokens";`);
    this.addSql(`drop table if exists "refresh_tokens";`);
    this.addSql(`drop table if exists "sessions";`);
    this.addSql(`alter table "users" drop column "password_hash";`);
  }
}
