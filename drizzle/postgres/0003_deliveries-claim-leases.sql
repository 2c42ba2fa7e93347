ALTER TABLE "deliveries" ADD COLUMN "claimed_by" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "lease_until" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "deliveries_sending_index" ON "deliveries" USING btree ("lease_until") WHERE "deliveries"."status" = 'sending';