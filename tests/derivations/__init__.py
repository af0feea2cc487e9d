"""The claims of the post the project grew from, each a test that fails when the claim is broken."""
