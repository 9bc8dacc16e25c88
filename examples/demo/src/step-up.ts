/**
 * Step-up at the demo provider (RFC 9470): two authentication levels, a password alone and a
 * password plus a one-time code, told apart by the ID token's `acr`. A client that asks for the
 * stronger one (`acr_values`) than the session has is asked to sign in again, with the code.
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/** A password was checked. */
export const PASSWORD_ACR = 'urn:gatehouse:demo:pwd';
/** A password and a one-time code were checked. */
export const MFA_ACR = 'urn:gatehouse:demo:mfa';
/** The demo's one-time code (a real provider would use TOTP, WebAuthn...). */
export const DEMO_OTP = '123456';

/** The default interaction policy, plus: a requested acr the session has not reached needs a new login. */
export function stepUpPolicy(): ReturnType<typeof interactionPolicy.base> {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'acr_not_reached',
      'a stronger authentication is required',
      (ctx: KoaContextWithOIDC) => {
        const requested = wantedAcr(ctx.oidc.params?.acr_values);
        if (requested.length === 0 || requested.includes(ctx.oidc.acr ?? ''))
          return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        return interactionPolicy.Check.REQUEST_PROMPT;
      },
    ),
  );
  return policy;
}

/** The acr values asked for that this provider knows. */
export function wantedAcr(acrValues: unknown): string[] {
  return typeof acrValues === 'string' ? acrValues.split(' ').filter((v) => v === PASSWORD_ACR || v === MFA_ACR) : [];
}

/** Whether the sign-in asked for the one-time code. */
export function needsOtp(acrValues: unknown): boolean {
  return wantedAcr(acrValues).includes(MFA_ACR);
}
