/**
 * protobufjs set-up that must run before the generated module is evaluated
 * (it bakes default values into message prototypes at load time).
 *
 * 64-bit fields (request ids, Unix milliseconds) stay below 2^53 and the
 * generated types declare them as `number`. protobufjs reads them as Long
 * objects whenever the `long` package is installed, so its readers are
 * switched to plain numbers here.
 */
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
