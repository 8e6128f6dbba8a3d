## Reference values from R for tests/model/test_firth.py (Firth's penalised-likelihood logistic regression).
## Usage (from the project root):  Rscript tests/reference/r/firth.R [tests/reference/r/firth.json]
## Computed with R 4.2.2 and the Debian packages r-cran-brglm2 0.9, r-cran-mass, r-cran-jsonlite.
## R is not a dependency of the project: the JSON is committed, and this script documents how each number
## was obtained. Numbers are written with jsonlite::toJSON(digits = NA) (15 significant digits).
##
## Also exports the public data sets the tests read (only if the file does not exist yet, so a data set
## exported by another script is never overwritten):
##   tests/data/public/endometrial.csv  brglm2::endometrial (79 rows; quasi-complete separation in NV)
##   tests/data/public/birthwt.csv      MASS::birthwt (189 rows; all 10 columns)
##
## What is computed, per data set:
##   (a) endometrial  HG ~ NV + PI + EH
##   (b) birthwt      low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv  (race 1 = reference)
##   (c) toy          y ~ x, x = 1..10, y = (x > 5): complete separation
## - brglm2: glm(..., family = binomial("logit"), method = "brglmFit", type = "AS_mean"): coefficients,
##   standard errors, vcov, Wald z and p, logLik (unpenalised), and the penalised log-likelihood
##   l* = logLik + 1/2 log det(X'WX) at brglm2's estimate (brglm2 does not report l*; computed here).
## - logistf is not packaged for Debian (no CRAN access here), so the profile penalised-likelihood
##   intervals and penalised LR p-values that logistf reports by default are computed by an independent
##   route written here: l* coded directly, its maximum over the other coefficients with one coefficient
##   fixed found by optim(BFGS) with the analytic gradient (checked against central differences, the
##   largest discrepancy stored), and the limits where 2 [l*(b^) - profile(b)] = qchisq(0.95, 1) found by
##   uniroot (tol 1e-13) after bracketing outward in steps of the Wald half-width. Like logistf, the
##   constrained fits keep the full penalty 1/2 log det I(b) of all columns; p-value = 1 - pchisq(2 [l*(b^) -
##   profile(0)], 1) (logistf's `prob`).
## - the ordinary ML fit of (a) by glm(): its NV coefficient and whether glm warned (it diverges).
suppressPackageStartupMessages({ library(brglm2); library(MASS); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
OUT <- if (length(args) >= 1) args[1] else "tests/reference/r/firth.json"
DATA_DIR <- "tests/data/public"
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)

export <- function(df, name) {
  path <- file.path(DATA_DIR, name)
  if (file.exists(path)) {
    message("kept existing ", path)
    return(FALSE)
  }
  write.csv(df, path, row.names = FALSE)
  TRUE
}
data("endometrial", package = "brglm2")
data("birthwt", package = "MASS")
exported <- list(endometrial = export(endometrial, "endometrial.csv"),
                 birthwt = export(birthwt, "birthwt.csv"))
toy <- data.frame(x = 1:10, y = as.integer(1:10 > 5))

## ---- penalised log-likelihood, its gradient (modified score), profile
pen_loglik <- function(beta, X, y) {
  eta <- drop(X %*% beta)
  w <- plogis(eta) * plogis(-eta)
  ll <- sum(y * plogis(eta, log.p = TRUE) + (1 - y) * plogis(-eta, log.p = TRUE))
  ld <- determinant(crossprod(X, X * w), logarithm = TRUE)
  if (ld$sign <= 0) return(-Inf)
  ll + 0.5 * as.numeric(ld$modulus)
}
pen_score <- function(beta, X, y) {
  eta <- drop(X %*% beta)
  p <- plogis(eta)
  w <- p * (1 - p)
  info <- crossprod(X, X * w)
  h <- w * rowSums((X %*% solve(info)) * X)
  drop(crossprod(X, y - p + h * (0.5 - p)))
}
grad_check <- function(beta, X, y, eps = 1e-6) {
  num <- sapply(seq_along(beta), function(j) {
    e <- replace(numeric(length(beta)), j, eps)
    (pen_loglik(beta + e, X, y) - pen_loglik(beta - e, X, y)) / (2 * eps)
  })
  max(abs(num - pen_score(beta, X, y)) / (1 + abs(num)))
}
profile_fit <- function(j, b, start, X, y) {
  full <- function(g) { beta <- numeric(ncol(X)); beta[j] <- b; beta[-j] <- g; beta }
  fn <- function(g) -pen_loglik(full(g), X, y)
  gr <- function(g) -pen_score(full(g), X, y)[-j]
  g <- start[-j]
  for (pass in 1:3) {   # restarts: BFGS's line search may stop early; the value is what counts
    o <- optim(g, fn, gr, method = "BFGS", control = list(reltol = 1e-16, maxit = 5000))
    g <- o$par
  }
  list(value = -o$value, beta = full(g), grad = max(abs(gr(g))))
}
profile_ci <- function(X, y, bhat, se, lstar, level = 0.95) {
  cut <- lstar - qchisq(level, 1) / 2
  k <- ncol(X)
  lower <- upper <- prob <- grad <- numeric(k)
  for (j in seq_len(k)) {
    warm <- bhat
    f <- function(b) {
      fit <- profile_fit(j, b, warm, X, y)
      warm <<- fit$beta
      fit$value - cut
    }
    half <- sqrt(qchisq(level, 1)) * se[j]
    lim <- c(NA, NA)
    for (side in c(-1, 1)) {
      warm <- bhat
      inner <- bhat[j]
      step <- half
      repeat {
        outer <- bhat[j] + side * step
        if (f(outer) < 0) break
        inner <- outer
        step <- step * 2
        if (step > 1e4) { outer <- NA; break }
      }
      lim[(side + 3) / 2] <- if (is.na(outer)) side * Inf else
        uniroot(f, sort(c(inner, outer)), tol = 1e-13, maxiter = 1000)$root
    }
    lower[j] <- lim[1]; upper[j] <- lim[2]
    fit0 <- profile_fit(j, 0, bhat, X, y)
    prob[j] <- 1 - pchisq(max(0, 2 * (lstar - fit0$value)), 1)
    grad[j] <- fit0$grad
  }
  list(conf_level = level, lower = lower, upper = upper, prob = prob,
       max_abs_gradient_at_null_fits = max(grad))
}

## ---- one case
firth_case <- function(formula, data, description) {
  fit <- glm(formula, family = binomial("logit"), data = data, method = "brglmFit", type = "AS_mean",
             epsilon = 1e-12, maxit = 500)
  X <- model.matrix(fit)
  y <- fit$y
  b <- coef(fit)
  V <- vcov(fit)
  se <- sqrt(diag(V))
  co <- summary(fit)$coefficients
  lstar <- pen_loglik(b, X, y)
  prof <- profile_ci(X, y, b, se, lstar)
  list(
    description = description,
    formula = deparse(formula),
    call = "glm(formula, family = binomial('logit'), data, method = 'brglmFit', type = 'AS_mean', epsilon = 1e-12, maxit = 500)",
    n = nrow(X),
    columns = colnames(X),
    coefficients = unname(b),
    std_errors = unname(se),
    z = unname(co[, 3]),
    p_wald = unname(co[, 4]),
    vcov = unname(V),
    loglik_unpenalized = as.numeric(logLik(fit)),
    loglik_penalized = lstar,
    max_abs_modified_score = max(abs(pen_score(b, X, y))),
    gradient_check_max_rel_diff = grad_check(b, X, y),
    converged = fit$converged,
    iterations = fit$iter,
    profile = prof
  )
}

res <- list()
res$endometrial <- firth_case(HG ~ NV + PI + EH, endometrial,
                              "brglm2::endometrial; ML estimate of NV infinite (quasi-complete separation)")
res$birthwt <- firth_case(low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv, birthwt,
                          "MASS::birthwt; race as factor, treatment coding, reference race = 1")
res$toy <- firth_case(y ~ x, toy, "x = 1..10, y = x > 5 (complete separation)")
res$toy$data <- toy

ml_warn <- character(0)
ml <- withCallingHandlers(glm(HG ~ NV + PI + EH, family = binomial, data = endometrial),
                          warning = function(w) { ml_warn <<- c(ml_warn, conditionMessage(w))
                                                  invokeRestart("muffleWarning") })
res$endometrial$ml_glm <- list(coefficients = unname(coef(ml)), columns = names(coef(ml)),
                               std_errors = unname(sqrt(diag(vcov(ml)))), warnings = ml_warn,
                               converged = ml$converged)

res$provenance <- list(
  r_version = R.version.string,
  packages = list(brglm2 = as.character(packageVersion("brglm2")),
                  MASS = as.character(packageVersion("MASS")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  logistf = "not available (not packaged for Debian, no CRAN access); profile CIs by the independent route above",
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  command = paste("Rscript tests/reference/r/firth.R", OUT),
  exported_csv = exported
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor"), OUT)
message("wrote ", OUT)
