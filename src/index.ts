// The device bundle's surface: global Pigeon (and module.exports). Only re-exports.
export { sBelowL } from "./ed25519";
export { lipmaa } from "./lipmaa";
export {
  at,
  blobId,
  id,
  idBytes,
  identity,
  keys,
  parse,
  refusal,
  refusalBytes,
  sign,
  verify,
} from "./message";
export { enc, encode } from "./utf8";
