import AsgardCore
