/**
 * Peer "express-oidc": the common Node BFF. express-openid-connect set up as its README and
 * EXAMPLES.md recommend for a confidential client that calls an API: authorization code flow
 * (response_type "code", with the client secret, PKCE added by the library), offline_access for a
 * refresh token, the default stateless session (encrypted, rolling appSession cookie), and on every
 * API call `req.oidc.accessToken` (refreshed when expired) attached as the Authorization header.
 * http-proxy-middleware then streams the call to the upstream. It gets a keep-alive agent: without
 * one, http-proxy sends `Connection: close` and opens a new upstream connection per request, and
 * the comparison would measure that rather than the BFF.
 *
 * Plain JavaScript run by plain `node` (see node-proxy.js for why).
 */
import { Agent } from 'node:http';
import express from 'express';
import expressOpenidConnect from 'express-openid-connect';
import { createProxyMiddleware } from 'http-proxy-middleware';

const { auth, requiresAuth } = expressOpenidConnect; // CommonJS

const env = process.env;
const app = express();

app.use(
  auth({
    issuerBaseURL: env.ISSUER,
    baseURL: env.BASE_URL,
    clientID: env.CLIENT_ID,
    clientSecret: env.CLIENT_SECRET,
    secret: env.SESSION_SECRET,
    authRequired: false,
    authorizationParams: {
      response_type: 'code',
      scope: 'openid profile email offline_access orders:read',
    },
  }),
);

app.use(
  '/api',
  requiresAuth(),
  async (req, _res, next) => {
    try {
      let { token_type, access_token, isExpired, refresh } = req.oidc.accessToken;
      if (isExpired()) ({ token_type, access_token } = await refresh());
      req.headers.authorization = `${token_type} ${access_token}`;
      // The session cookie is for this app, not for the API (Gatehouse drops it too).
      delete req.headers.cookie;
      next();
    } catch (error) {
      next(error);
    }
  },
  createProxyMiddleware({ target: env.UPSTREAM, agent: new Agent({ keepAlive: true }) }),
);

const server = app.listen(Number(env.PORT), '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
