"""Coupon-use logistic-regression report for Tmall / ANT Credit Pay."""
