import { stopTestServers } from './global-setup';

/** Stops what global-setup.ts started and deletes its data. */
export default stopTestServers;
