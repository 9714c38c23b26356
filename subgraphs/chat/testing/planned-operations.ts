/**
 * The operation the gateway's query planner sends chat for the clients' `GenerationEvents`
 * (clients/operations/chat.graphql), as it spells it: what every event of a reply is executed against.
 */
export const PLANNED_GENERATION_EVENTS =
  'subscription GenerationEvents__chat__0($id:ID!$after:Int!=0){generation(id:$id after:$after){seq type delta error generation{id status model error usage{promptTokens completionTokens totalTokens}}message{id}}}';
