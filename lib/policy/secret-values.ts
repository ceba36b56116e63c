/**
 * What a secret looks like as a literal: known credential formats, URLs with a password, long
 * random-looking tokens, and credential-like names holding literal values. Used by the
 * PlaintextSecrets rule and on whole templates by the policy tests.
 */

/** Variable names that suggest a credential. */
const SECRET_NAME =
  /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH_?KEY)/i;
/** ...unless the name says it holds a pointer to the secret or a setting about it. */
const REFERENCE_NAME =
  /(_ARN|_NAME|_ID|_PARAM|_PARAMETER|_PATH|_REF|_TTL|_SECONDS|_MS|_HEADER|_URL|_URI|_ENDPOINT|_REGION|_FIELD|_KEY_ID)$/i;

/** A flag, number or duration (`VERIFY_TOKEN_SIGNATURE=true`, `TOKEN_TTL=3600`): a setting, not a secret. */
function isSetting(value: string): boolean {
  return /^(true|false|yes|no|on|off|enabled|disabled|none|\d+(\.\d+)?(ms|s|m|h|d)?)$/i.test(value);
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * How often consecutive characters change class (lower, upper, digit, other), per character.
 * Random tokens switch on about every other character; identifiers and paths are made of words
 * (`NetworkPublicSubnet1SubnetBAFD76B4`, `Staging/Stateful/Network`) and switch far less.
 */
export function classSwitchRatio(text: string): number {
  const classOf = (ch: string) => (/[a-z]/.test(ch) ? 0 : /[A-Z]/.test(ch) ? 1 : /[0-9]/.test(ch) ? 2 : 3);
  let switches = 0;
  for (let i = 1; i < text.length; i++) if (classOf(text[i]) !== classOf(text[i - 1])) switches += 1;
  return text.length <= 1 ? 0 : switches / (text.length - 1);
}

/**
 * Why a literal value looks like a secret, or undefined. Known credential formats, URLs with a
 * password, and long random-looking tokens (mixed case and digits, high entropy).
 */
export function secretLookingValue(value: string): string | undefined {
  if (/\bA(KIA|SIA)[0-9A-Z]{16}\b/.test(value)) return 'an AWS access key id';
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return 'a PEM private key';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(value)) return 'a URL with an embedded password';
  if (/\b(ghp|gho|github_pat|xox[abp]|sk_live|sk-[A-Za-z0-9]{20})[A-Za-z0-9_-]{10,}/.test(value))
    return 'a known API token format';
  if (value.startsWith('arn:') || /^https?:\/\//.test(value) || value.startsWith('/')) return undefined;
  if (
    value.length >= 24 &&
    /^[A-Za-z0-9+/=_-]+$/.test(value) &&
    /[a-z]/.test(value) &&
    /[A-Z]/.test(value) &&
    /[0-9]/.test(value) &&
    shannonEntropy(value) >= 4.2 &&
    classSwitchRatio(value) >= 0.5
  ) {
    return 'a long high-entropy string';
  }
  return undefined;
}

/**
 * Why a named literal (an environment variable, a parameter) looks like a plaintext secret, or
 * undefined: a secret-looking value, or a literal under a credential-like name that is not a
 * pointer (`..._ARN`, a parameter path) or a setting (`..._TTL_SECONDS=3600`).
 */
export function plaintextSecretReason(name: string, value: string): string | undefined {
  if (value === '') return undefined;
  const looksLike = secretLookingValue(value);
  if (looksLike) return `${name} holds ${looksLike}`;
  if (
    SECRET_NAME.test(name) &&
    !REFERENCE_NAME.test(name) &&
    !isSetting(value) &&
    !value.startsWith('arn:') &&
    !value.startsWith('/')
  ) {
    return `${name} looks like a credential and holds a literal value`;
  }
  return undefined;
}
