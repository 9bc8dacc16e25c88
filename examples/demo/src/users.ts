/** The demo's two users. Their passwords are printed on the login page: this is a demo. */
export interface DemoUser {
  sub: string;
  username: string;
  password: string;
  claims: Record<string, unknown>;
}

export const DEMO_USERS: DemoUser[] = [
  {
    sub: 'alice',
    username: 'alice',
    password: 'alice',
    claims: {
      name: 'Alice Anderson',
      given_name: 'Alice',
      family_name: 'Anderson',
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    },
  },
  {
    sub: 'bob',
    username: 'bob',
    password: 'bob',
    claims: {
      name: 'Bob Brown',
      given_name: 'Bob',
      family_name: 'Brown',
      preferred_username: 'bob',
      email: 'bob@example.com',
      email_verified: true,
    },
  },
];

export function findUser(usernameOrSub: string): DemoUser | undefined {
  return DEMO_USERS.find((u) => u.username === usernameOrSub || u.sub === usernameOrSub);
}
