/**
 * The generated protobuf classes of `schema/enclave_wallet.proto`, re-exported
 * under short names. Regenerate with `npm run proto:gen`.
 */
// Must come first: it configures protobufjs before the generated code loads.
import './protobuf-config.js';
import { enclavewallet } from '../generated/enclave_wallet.js';

/** All message classes and enums of package `enclavewallet.v1`. */
export import v1 = enclavewallet.v1;

/**
 * The protocol revision both sides speak. Bumped only for changes that an
 * older peer cannot ignore; additive fields do not bump it.
 */
export const PROTOCOL_VERSION = 1;
