import { Field, ObjectType } from "type-graphql";

@ObjectType({ description: "What an authenticator app needs to add the account. Shown once." })
export class TotpSetup {
  @Field(() => String, { description: "Base32, for typing into the app by hand." })
  secret!: string;

  @Field(() => String, { description: "An otpauth://totp/ URI." })
  otpauthUri!: string;

  @Field(() => String, { description: "The URI as a QR code, a PNG data URL." })
  qrCodeDataUrl!: string;
}
