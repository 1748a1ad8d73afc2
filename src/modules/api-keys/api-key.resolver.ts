import { Arg, Mutation, Query, Resolver } from "type-graphql";
import { Actor } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { CreateApiKeyInput } from "./api-key.inputs.js";
import type { ApiKeyService } from "./api-key.service.js";
import { ApiKey, CreatedApiKey } from "./api-key.type.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly service: ApiKeyService) {}

  @Query(() => [ApiKey], {
    description:
      "API keys that are not revoked, newest first: the caller's, or a service account's (as reading the account needs).",
  })
  apiKeys(
    @Arg("serviceAccountId", () => UUID, { nullable: true }) serviceAccountId: string | undefined,
    @Actor() actor: Principal,
  ) {
    return this.service.list(actor, serviceAccountId);
  }

  @Mutation(() => CreatedApiKey, {
    description:
      "Creates an API key for the caller or a service account, from a session (an API key cannot make keys), after recent " +
      "re-authentication. Answers its secret this once.",
  })
  createApiKey(@Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput, @Actor() actor: Principal) {
    return this.service.create(actor, input);
  }

  @Mutation(() => Boolean, {
    description:
      "Revokes one of the caller's API keys, or one of a service account they manage: refused from the next request on, on every instance.",
  })
  async revokeApiKey(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    await this.service.revoke(actor, id);
    return true;
  }
}
