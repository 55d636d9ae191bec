/** oVirt engine console tickets for tests, signed the way the engine's TicketEncoder does. */
import { constants, randomBytes, sign, type KeyObject } from 'node:crypto';

/** Signs like the engine's TicketEncoder: RSASSA-PSS/SHA-256 over the signed fields' values. */
export function engineTicket(key: KeyObject, data: object, validForMs = 60_000) {
  const t = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const fields: Record<string, string> = {
    salt: randomBytes(8).toString('base64'),
    digest: 'sha1',
    validFrom: t(Date.now() - 1000),
    validTo: t(Date.now() + validForMs),
    data: encodeURIComponent(JSON.stringify(data)),
  };
  const signedFields = 'salt,data,digest,validFrom,validTo';
  const payload = signedFields
    .split(',')
    .map((f) => fields[f])
    .join('');
  const v2 = sign('sha256', Buffer.from(payload), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  }).toString('base64');
  return Buffer.from(JSON.stringify({ ...fields, signedFields, v2_signature: v2 })).toString(
    'base64',
  );
}
