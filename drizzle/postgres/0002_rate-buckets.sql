CREATE TABLE "rate_buckets" (
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"full_at" double precision NOT NULL,
	CONSTRAINT "rate_buckets_kind_key_pk" PRIMARY KEY("kind","key")
);
--> statement-breakpoint
CREATE INDEX "rate_buckets_full_at" ON "rate_buckets" USING btree ("kind","full_at");