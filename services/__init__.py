"""The domain: models, submissions, the LINE gateway, media, villages, understanding. No Flask."""
