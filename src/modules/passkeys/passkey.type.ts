import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({
  description:
    "A passkey (WebAuthn credential) of a user: it signs in without a password or an email typed in, or " +
    "is the second factor after a password. Its private key never leaves the user's authenticator.",
})
export class Passkey {
  @Field(() => UUID)
  id!: string;

  @Field(() => String, { description: "The user's own name for it (“Laptop”, “Phone”)." })
  name!: string;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver, { nullable: true, description: "Its last sign-in or second-factor use." })
  lastUsedAt!: Date | null;

  @Field(() => String, {
    description: "`singleDevice` (bound to one authenticator) or `multiDevice` (synced, e.g. by a password manager).",
  })
  deviceType!: string;

  @Field(() => Boolean, { description: "A multi-device passkey that is backed up (synced)." })
  backedUp!: boolean;

  @Field(() => [String], { description: "How the browser reaches its authenticator: internal, hybrid, usb, nfc, ble." })
  transports!: string[];
}
