import { Migration } from '@mikro-orm/migrations';

/** Per-conversation settings; a null column means "the deployment's default" (docs/conversation.md). */
export class Migration20261206000100_conversation_settings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "conversations"
      add column "model" varchar(200) null,
      add column "system_prompt" text null,
      add column "temperature" double precision null,
      add column "top_p" double precision null,
      add column "max_output_tokens" int null,
      add column "recall_enabled" boolean not null default true;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "conversations"
      drop column if exists "model",
      drop column if exists "system_prompt",
      drop column if exists "temperature",
      drop column if exists "top_p",
      drop column if exists "max_output_tokens",
      drop column if exists "recall_enabled";`);
  }
}
