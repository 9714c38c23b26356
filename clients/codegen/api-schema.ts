import { buildSupergraph } from '../../common/graphql/supergraph';
import { printSchema } from 'graphql';

/**
 * The schema clients see, as SDL: the composed supergraph without federation's join
 * machinery and without the fields marked @inaccessible (internal service-to-service calls).
 */
export const apiSchemaSdl = (supergraphSdl: string): string =>
  printSchema(buildSupergraph(supergraphSdl).apiSchema().toGraphQLJSSchema());
