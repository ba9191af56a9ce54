package io.pgrelay.feed;

/**
 * The root's identity as IDENTIFY_SYSTEM reports it. A relay learns it from its upstream and
 * passes it on unchanged, so every tier of a chain names the same system (DESIGN.md invariant 1).
 */
public record SystemIdentity(String systemId, int timeline) {}
