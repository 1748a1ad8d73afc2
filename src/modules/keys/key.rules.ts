import { allow } from "graphql-shield";

// signingKeys and rotateSigningKey declare their permission themselves (@Needs in key.resolver.ts).
export const keyRules = {
  SigningKey: { "*": allow },
};
