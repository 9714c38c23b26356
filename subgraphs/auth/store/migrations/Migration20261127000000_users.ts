import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000000_users extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "user_role" as enum ('USER', 'ADMIN');`);
    this.addSql(`create table "users" (
      "id" uuid not null,
      "email" varchar(320) not null,
      "display_name" varchar(100) not null,
      "role" "user_role" not null default 'USER',
      "created_at" timestamptz not null default now(),
      constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop type if exists "user_role";`);
  }
}
