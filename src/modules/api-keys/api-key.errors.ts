/** Why an API key is refused, as `tokenProblem` tells it (the code is UNAUTHENTICATED either way). */
export const API_KEY_PROBLEMS = {
  INVALID: "invalid API key",
  EXPIRED: "API key expired",
  REVOKED: "API key revoked",
  OWNER_INACTIVE: "user disabled or deleted",
} as const;

export type ApiKeyProblem = (typeof API_KEY_PROBLEMS)[keyof typeof API_KEY_PROBLEMS];
